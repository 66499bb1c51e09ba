"""The held-out slice of the fine-tuning recipe is made of whole groups of near-copies (frames of one video)."""

import json

import cv2
import numpy as np
from project_scenes import project

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation
from model.data.coco import read_coco
from model.training.holdout_split import (
    NEAR_COPY_CORRELATION,
    image_groups,
    near_copy_groups,
    split_holdout,
    thumbnail_signature,
)

SIZE = (120, 160)


def _scene(seed: int) -> np.ndarray:
    """A distinct random scene: smooth blobs of grey at random places."""
    rng = np.random.default_rng(seed)
    image = np.zeros((*SIZE, 3), np.uint8)
    for _ in range(6):
        centre = (int(rng.integers(0, SIZE[1])), int(rng.integers(0, SIZE[0])))
        cv2.circle(image, centre, int(rng.integers(10, 40)), tuple(int(v) for v in rng.integers(60, 255, 3)), -1)
    return image


def _frame(scene: np.ndarray, seed: int) -> np.ndarray:
    """Another frame of the same clip: shifted by a couple of pixels, with sensor noise."""
    rng = np.random.default_rng(seed)
    shifted = np.roll(scene, (int(rng.integers(-2, 3)), int(rng.integers(-2, 3))), axis=(0, 1)).astype(int)
    return np.clip(shifted + rng.integers(-12, 13, shifted.shape), 0, 255).astype(np.uint8)


def _image(image_id: str, pixels: np.ndarray, group: str | None = None) -> AnnotatedImage:
    box = np.array([10, 10, 30, 30], np.float32)
    instance = InstanceAnnotation(0, "thing", box, (np.array([[10, 10], [30, 10], [30, 30], [10, 30]], np.float32),))
    return AnnotatedImage(image_id, lambda: pixels, pixels.shape[0], pixels.shape[1], (instance,), group)


def test_signatures_correlate_near_copies_and_not_distinct_scenes():
    scene = _scene(0)
    same = np.dot(thumbnail_signature(scene), thumbnail_signature(_frame(scene, 1))) / 1024
    other = np.dot(thumbnail_signature(scene), thumbnail_signature(_scene(1))) / 1024
    assert same >= NEAR_COPY_CORRELATION > other
    assert not thumbnail_signature(np.full((*SIZE, 3), 90, np.uint8)).any(), "a flat image has no signature"


def test_groups_follow_known_groups_then_near_copies_of_one_size():
    a, b = thumbnail_signature(_scene(0)), thumbnail_signature(_scene(1))
    a2 = thumbnail_signature(_frame(_scene(0), 5))
    groups = near_copy_groups(
        sizes=[SIZE, SIZE, SIZE, SIZE, (60, 80), SIZE, SIZE],
        signatures=[a, a2, b, None, a, None, b],
        known=[None, None, None, "clip-1", None, "clip-1", None],
    )
    assert groups[0] == groups[1], "near-copies of one size share a group"
    assert groups[2] == groups[6] != groups[0], "a second scene is another group"
    assert groups[3] == groups[5] not in (groups[0], groups[2]), "the source's group is kept"
    assert groups[4] not in (groups[0], groups[2], groups[3]), "a different size is never a near-copy"
    assert groups == [0, 0, 1, 2, 3, 2, 1], "numbered in order of first appearance"


def test_held_out_images_never_share_a_group_with_training_images():
    clips = {"1": 3, "2": 1, "3": 4, "4": 2}
    images = [_image(f"{clip}-{i}", _scene(int(clip)), group=clip) for clip, n in clips.items() for i in range(n)]
    dataset = Dataset(("thing",), tuple(images), "clips")
    for seed in range(6):
        split = split_holdout(dataset, 0.2, seed)
        held = {img.group for img in split.holdout.images}
        trained = {img.group for img in split.train.images}
        assert split.disjoint and split.groups == 4 and split.holdout_groups == 1 and not held & trained
        assert len(split.holdout.images) == 2, "two images (0.2 of 10) are held out: clip 4, the only group of 2"
        assert held == {"4"}


def test_automatic_groups_hold_out_whole_clips():
    scenes = [_scene(s) for s in range(3)]
    images = [_image(f"{s}-{f}", _frame(scenes[s], 10 * s + f)) for s in range(3) for f in range(s + 1)]
    assert image_groups(images) == [0, 1, 1, 2, 2, 2]
    split = split_holdout(Dataset(("thing",), tuple(images), "frames"), 0.2, seed=0)
    assert split.disjoint and split.groups == 3
    assert [img.image_id for img in split.holdout.images] == ["0-0"], "the one-frame clip is nearest 1 image"


def test_one_group_falls_back_to_images_and_says_so():
    scene = _scene(0)
    images = tuple(_image(f"f{i}", _frame(scene, i)) for i in range(5))
    split = split_holdout(Dataset(("thing",), images, "one clip"), 0.2, seed=0)
    assert not split.disjoint and split.groups == 1
    assert len(split.train.images) == 4 and len(split.holdout.images) == 1
    assert split.describe() == {"train_images": 4, "holdout_images": 1, "groups": 1, "holdout_groups": 0,
                                "disjoint": False}


def test_split_is_deterministic_and_keeps_a_group_to_train():
    dataset = Dataset(("thing",), tuple(_image(f"{g}-{i}", _scene(0), group=g) for g in "ab" for i in range(3)), "x")
    first, again = split_holdout(dataset, 0.9, seed=3), split_holdout(dataset, 0.9, seed=3)
    assert [i.image_id for i in first.holdout.images] == [i.image_id for i in again.holdout.images]
    assert len(first.holdout.images) == 3 and len(first.train.images) == 3, "one of the two groups always trains"
    assert split_holdout(project(1), 0.2, seed=0).holdout.images == ()


def test_coco_video_fields_become_groups(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    images = [{"id": 1, "file_name": "a.png", "width": 8, "height": 8, "video_id": 4},
              {"id": 2, "file_name": "a.png", "width": 8, "height": 8, "video": "clip-7"},
              {"id": 3, "file_name": "a.png", "width": 8, "height": 8}]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": [], "categories": [{"id": 1, "name": "x"}]}))
    assert [image.group for image in read_coco(path).images] == ["4", "clip-7", None]
