"""One-shot episode sampling rules (model-spec §5.2)."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import AnnotatedImage, Dataset, EpisodeSampler, InstanceAnnotation, sampler_from_label_studio
from model.data.annotations import box_from_mask

SIZE = 32
CATEGORIES = ("cat", "dog", "fox")


def _image(image_id: str, boxes_by_category: dict[str, list[tuple]]) -> AnnotatedImage:
    pixels = np.full((SIZE, SIZE, 3), int(image_id) * 10, np.uint8)
    instances = tuple(
        InstanceAnnotation(CATEGORIES.index(name), name, np.array(box, np.float32))
        for name, boxes in boxes_by_category.items()
        for box in boxes
    )
    return AnnotatedImage(image_id, lambda: pixels, SIZE, SIZE, instances)


def _dataset() -> Dataset:
    return Dataset(
        CATEGORIES,
        (
            _image("0", {"cat": [(0, 0, 8, 8), (10, 10, 20, 20)], "fox": [(20, 0, 30, 10)]}),
            _image("1", {"cat": [(4, 4, 12, 12)], "dog": [(0, 16, 16, 32)]}),
            _image("2", {"dog": [(1, 1, 9, 9)], "fox": [(2, 2, 12, 12)]}),
            _image("3", {"fox": [(5, 5, 15, 15)]}),
            _image("4", {}),
        ),
    )


def test_held_out_classes_are_never_targets_or_references():
    dataset = _dataset()
    sampler = EpisodeSampler(dataset, ["cat", "dog"], seed=3)
    seen = set()
    for _, episode in zip(range(300), sampler, strict=False):
        assert episode.category != "fox"
        seen.add(episode.category)
        reference_image = dataset.images[int(episode.reference_id)]
        matching = [a for a in reference_image.instances if np.array_equal(a.box, episode.reference_box)]
        assert matching and all(a.category == episode.category for a in matching), (
            "reference has the category"
        )
    assert seen == {"cat", "dog"}
    assert 3 not in sampler.query_indices and 4 not in sampler.query_indices, (
        "images with only held-out classes"
    )


def test_targets_are_all_instances_of_the_category_in_the_query():
    sampler = EpisodeSampler(_dataset(), seed=0)
    episode = sampler.episode(0, category_id=0)
    np.testing.assert_allclose(episode.gt_boxes, [[0, 0, 8, 8], [10, 10, 20, 20]])
    assert episode.gt_masks.shape == (2, SIZE, SIZE) and episode.gt_masks.dtype == bool
    for mask, box in zip(episode.gt_masks, episode.gt_boxes, strict=True):
        np.testing.assert_allclose(box_from_mask(mask), box)
    assert episode.query_image.shape == (SIZE, SIZE, 3) and episode.query_image.dtype == np.uint8


def test_reference_from_another_image_when_required():
    sampler = EpisodeSampler(_dataset(), allow_same_image_reference=False, seed=1)
    for _ in range(200):
        episode = sampler.sample()
        assert episode.reference_id != episode.query_id
    # With same-image references allowed the query itself is sometimes drawn (the paper's protocol).
    allowed = EpisodeSampler(_dataset(), allow_same_image_reference=True, seed=1)
    assert any(e.reference_id == e.query_id for _, e in zip(range(200), allowed, strict=False))


def test_category_only_in_one_image_cannot_be_queried_without_same_image_references():
    dataset = Dataset(
        CATEGORIES, (_image("0", {"cat": [(0, 0, 8, 8)]}), _image("1", {"dog": [(0, 0, 8, 8)]}))
    )
    with pytest.raises(ValueError, match="another image"):
        EpisodeSampler(dataset, allow_same_image_reference=False)


def test_same_seed_same_episodes():
    first = [
        (e.query_id, e.category, e.reference_id)
        for _, e in zip(range(20), EpisodeSampler(_dataset(), seed=5), strict=False)
    ]
    again = [
        (e.query_id, e.category, e.reference_id)
        for _, e in zip(range(20), EpisodeSampler(_dataset(), seed=5), strict=False)
    ]
    assert first == again


def test_unknown_active_class_lists_the_known_ones():
    with pytest.raises(ValueError, match="'cat', 'dog', 'fox'"):
        EpisodeSampler(_dataset(), ["wolf"])


def test_label_studio_export_to_episodes(tmp_path):
    import json

    from PIL import Image

    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "b.png")

    def rect(label, x):
        return {
            "type": "rectanglelabels",
            "original_width": 40,
            "original_height": 20,
            "value": {"x": x, "y": 10, "width": 20, "height": 50, "rectanglelabels": [label]},
        }

    tasks = [
        {
            "id": 1,
            "data": {"image": "a.png"},
            "annotations": [{"result": [rect("nut", 0), rect("bolt", 50)]}],
        },
        {
            "id": 2,
            "data": {"image": "b.png"},
            "annotations": [{"result": [rect("nut", 10), rect("bolt", 60)]}],
        },
    ]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    sampler = sampler_from_label_studio(
        tmp_path / "export.json", held_out=["bolt"], allow_same_image_reference=False
    )
    episode = sampler.sample()
    assert episode.category == "nut" and episode.reference_id != episode.query_id
    assert episode.gt_boxes.shape == (1, 4)
    with pytest.raises(ValueError, match="screw"):
        sampler_from_label_studio(tmp_path / "export.json", held_out=["screw"])


@pytest.mark.shared
def test_coco128_training_episodes_use_only_train_classes(coco128_dir):
    from model.data import load_dataset, paper_split

    dataset = load_dataset(coco128_dir, "yolo-seg")
    split = paper_split(1)
    sampler = EpisodeSampler(dataset, split.train_classes(dataset.categories), seed=0)
    for _ in range(5):
        episode = sampler.sample()
        assert episode.category not in split.held_out
        query = next(i for i in dataset.images if i.image_id == episode.query_id)
        assert len(episode.gt_boxes) == len(query.instances_of(episode.category_id))
        assert episode.gt_masks.shape[1:] == episode.query_image.shape[:2]
        assert episode.gt_masks.reshape(len(episode.gt_masks), -1).any(axis=1).all(), "no empty target mask"


def test_same_image_references_come_from_the_query_and_ride_its_augmentation():
    from model.data import Augmentation

    sampler = EpisodeSampler(_dataset(), same_image_probability=1.0,
                             augmentation=Augmentation(scale_range=(0.5, 0.5)), seed=0)
    for _ in range(10):
        episode = sampler.sample()
        assert episode.reference_id == episode.query_id
        assert episode.reference_image is episode.query_image
        assert any(np.allclose(episode.reference_box, b) for b in episode.gt_boxes)
    with pytest.raises(ValueError, match="same_image_probability"):
        EpisodeSampler(_dataset(), same_image_probability=1.5)
    with pytest.raises(ValueError, match="allow_same_image_reference"):
        EpisodeSampler(_dataset(), same_image_probability=0.5, allow_same_image_reference=False)


def test_interleave_draws_from_each_stream_by_weight():
    from itertools import count, islice, repeat

    from model.data.episodes import interleave

    drawn = list(islice(interleave([(3.0, repeat("a")), (1.0, repeat("b")), (0.0, count())], seed=0), 4000))
    share = drawn.count("a") / len(drawn)
    assert 0.72 < share < 0.78 and set(drawn) == {"a", "b"}
    with pytest.raises(ValueError, match="weights"):
        next(interleave([(0.0, repeat("a"))]))
