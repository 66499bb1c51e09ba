"""`python -m model search` with the shipped checkpoint on real coco128 photos: does the right image rank first?

The folder the test writes holds one image with the reference's class and a few without it (checked with the labels).
The reference is the largest instance of the class in the first coco128 image that has it (sorted by name); the
match is the second such image. Both rules are fixed, not tuned per class.

What the shipped checkpoint can and cannot do, measured on all 128 images (35 references of 9 train classes, each
searched for in the 127 other images):
- It ranks an image of the reference's class above images that hold only classes held out in its training (the
  `held_out_classes` of its card: dog, elephant, airplane, person, ...). Measured with the first shipped checkpoint
  (v1): for bus and cat the match beat the best of all 17 such coco128 images by 4.6 and 2.8 in logit.
- It does not yet tell train classes apart: photos of one large train-class object (a toilet, a clock, a giraffe)
  score >= 0.99 whatever the reference. With the first four images holding only other train classes as the
  negatives, the match ranks first for 5 of the 35 references. The `xfail(strict=True)` test pins this; when a
  better checkpoint makes it pass, drop the mark.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from model.cli import main
from model.data import load_dataset
from model.search import CONTACT_SHEET_FILE, RESULTS_FILE

pytestmark = [pytest.mark.slow, pytest.mark.shared]

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "mobile-coco128.weights.h5"
NUM_NEGATIVES = 4
"""Images without the reference's class in each searched folder."""
TOP_K = 3
"""Hits drawn on the contact sheet (plus the reference crop)."""
SEARCH_CLASSES = ["cat", "giraffe"]
"""Train classes of the checkpoint. With mobile-coco128-v3, cat, giraffe, zebra and motorcycle pass and train does
not (a photo holding only held-out classes, 000000000042, outranks the match); with v1, bus, cat, giraffe, zebra,
train, motorcycle and pizza passed. Each class costs a checkpoint load (about 12 s), so two are run."""


@pytest.fixture(scope="module")
def coco128(coco128_dir):
    return load_dataset(coco128_dir, "yolo-seg")


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads(CHECKPOINT.with_name("mobile-coco128.card.json").read_text())


@pytest.fixture(scope="module")
def held_out_classes(card) -> set[str]:
    return set(card["training"]["held_out_classes"])


def _classes(image) -> set[str]:
    return {instance.category for instance in image.instances}


def _reference_and_match(dataset, class_name: str):
    """(reference image, its largest `class_name` box `(4,)` xyxy pixels, match image): the first two with it."""
    with_class = sorted((i for i in dataset.images if class_name in _classes(i)), key=lambda i: i.image_id)
    reference, match = with_class[:2]
    instance = max(
        (i for i in reference.instances if i.category == class_name),
        key=lambda i: (i.box[2] - i.box[0]) * (i.box[3] - i.box[1]),
    )
    return reference, instance.box, match


def _search(reference, box, folder: Path, out: Path) -> dict:
    """Run the search as a user does (`python -m model search ...`); returns results.json."""
    x1, y1, x2, y2 = (float(v) for v in box)
    status = main(
        [
            "search",
            "--checkpoint", str(CHECKPOINT),
            "--ref-image", str(reference.source),
            "--ref-box", f"{x1},{y1},{x2 - x1},{y2 - y1}",
            "--images", str(folder),
            "--top", str(TOP_K),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert status == 0
    return json.loads((out / RESULTS_FILE).read_text())


def _write_folder(folder: Path, images) -> Path:
    folder.mkdir()
    for image in images:
        shutil.copy(image.source, folder / Path(image.source).name)
    return folder


@pytest.mark.parametrize("class_name", SEARCH_CLASSES)
def test_the_image_with_the_reference_class_ranks_first(
    coco128, card, held_out_classes, class_name, tmp_path
):
    reference, box, match = _reference_and_match(coco128, class_name)
    negatives = [
        image
        for image in sorted(coco128.images, key=lambda i: i.image_id)
        if _classes(image) and _classes(image) <= held_out_classes
    ][:NUM_NEGATIVES]
    assert len(negatives) == NUM_NEGATIVES
    assert all(class_name not in _classes(image) for image in negatives)
    folder = _write_folder(tmp_path / "photos", [match, *negatives])

    results = _search(reference, box, folder, tmp_path / "out")

    ranked = [Path(r["path"]).name for r in results["ranked"]]
    assert ranked[0] == Path(match.source).name, results["ranked"]
    assert sorted(ranked) == sorted(p.name for p in folder.iterdir()) and results["skipped"] == []
    assert results["predictor_version"] == card["version"]
    assert results["ranked"][0]["instances"], "the match must have at least one instance above the threshold"
    with Image.open(tmp_path / "out" / CONTACT_SHEET_FILE) as sheet:
        assert sheet.format == "PNG" and sheet.width > 0 and sheet.height > 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the shipped checkpoint scores photos of one large train-class object >= 0.99 whatever the reference",
)
def test_the_image_with_the_reference_class_outranks_other_train_classes(coco128, held_out_classes, tmp_path):
    reference, box, match = _reference_and_match(coco128, "cat")
    negatives = [
        image
        for image in sorted(coco128.images, key=lambda i: i.image_id)
        if _classes(image) and not _classes(image) & (held_out_classes | {"cat"})
    ][:NUM_NEGATIVES]
    assert len(negatives) == NUM_NEGATIVES
    folder = _write_folder(tmp_path / "photos", [match, *negatives])

    results = _search(reference, box, folder, tmp_path / "out")

    assert Path(results["ranked"][0]["path"]).name == Path(match.source).name, results["ranked"]
