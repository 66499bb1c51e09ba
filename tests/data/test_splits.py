"""Class splits: the paper's four COCO splits and explicit held-out lists."""

from __future__ import annotations

import pytest

from model.data import COCO_CLASSES, ClassSplit, load_dataset, paper_split

SPEC_SPLIT_1 = (
    "person, airplane, boat, parking meter, dog, elephant, backpack, suitcase, sports ball, skateboard, wine glass, "
    "spoon, sandwich, hot dog, chair, dining table, mouse, microwave, refrigerator, scissors"
)
SPEC_SPLIT_4 = (
    "motorcycle, truck, stop sign, cat, cow, giraffe, tie, snowboard, baseball glove, bottle, knife, apple, carrot, "
    "cake, bed, laptop, cell phone, sink, vase, toothbrush"
)


def test_paper_splits_match_the_spec_table():
    assert paper_split(1).held_out_classes(COCO_CLASSES) == tuple(SPEC_SPLIT_1.split(", "))
    assert paper_split(4).held_out_classes(COCO_CLASSES) == tuple(SPEC_SPLIT_4.split(", "))


def test_paper_splits_partition_the_80_classes():
    held_out = [paper_split(k).held_out for k in (1, 2, 3, 4)]
    assert all(len(h) == 20 for h in held_out)
    assert set().union(*held_out) == set(COCO_CLASSES)
    assert sum(len(h) for h in held_out) == 80, "no class is held out by two splits"
    split = paper_split(2)
    assert len(split.train_classes(COCO_CLASSES)) == 60
    assert set(split.select(COCO_CLASSES, "held-out")) == split.held_out
    assert split.select(COCO_CLASSES, "all") == COCO_CLASSES


def test_paper_split_rejects_other_numbers():
    with pytest.raises(ValueError, match=r"\(1, 2, 3, 4\)"):
        paper_split(0)


def test_explicit_split_checks_names():
    split = ClassSplit.from_names(["nut"])
    assert split.train_classes(("nut", "screw")) == ("screw",)
    with pytest.raises(ValueError, match="bolt"):
        ClassSplit.from_names(["bolt"]).check_against(("nut", "screw"))


@pytest.mark.shared
def test_coco128_classes_are_the_coco_order(coco128_dir):
    dataset = load_dataset(coco128_dir, "yolo-seg")
    assert dataset.categories == COCO_CLASSES
    assert len(dataset) == 128
    assert sum(dataset.instance_counts().values()) == 929, "PROVENANCE.md: 929 instances"
    assert dataset.instance_counts()["person"] == 254
