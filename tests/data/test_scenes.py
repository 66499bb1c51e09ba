"""Synthetic repeated-object scenes: exact masks and boxes, no held-out class ever shown, same-image episodes."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from model.data.annotations import AnnotatedImage, Dataset, InstanceAnnotation, box_from_mask
from model.data.coco import read_coco
from model.data.scenes import (
    MIN_VISIBLE_PX,
    SceneSampler,
    SceneSettings,
    SceneSources,
    compose_scene,
    fill_out,
    write_scene_set,
)
from model.data.splits import paper_split
from model.data.sprites import GENERATED_SIDE_PX, Sprite, cutouts_from_dataset, generated_kind, photo_patch

RED = np.array([255, 0, 0], np.uint8)
SHARP = SceneSettings(colour_jitter=0.0, blur_probability=0.0, edge_softness=(0.01, 0.01), generated_fraction=0.0,
                      generated_background_fraction=1.0, distractor_kinds=(1, 2))


def _red_sprite(kind: str, h: int = 20, w: int = 30) -> Sprite:
    alpha = np.zeros((h, w), np.float32)
    alpha[2:-2, 3:-3] = 1.0
    return Sprite(np.tile(RED, (h, w, 1)), alpha, kind)


def _black_sources() -> SceneSources:
    return SceneSources(cutouts={"car": [_red_sprite("car")], "cup": [_red_sprite("cup", 25, 15)]})


def _black(monkeypatch):
    monkeypatch.setattr("model.data.scenes.procedural_background",
                        lambda h, w, rng: np.zeros((h, w, 3), np.uint8))


def test_masks_are_exactly_the_pasted_pixels_and_boxes_their_tight_boxes(monkeypatch):
    _black(monkeypatch)
    rng = np.random.default_rng(3)
    for _ in range(5):
        scene = compose_scene(_black_sources(), SHARP, rng)
        union = scene.masks.any(axis=0)
        red = scene.image[..., 0] >= 128
        # Dropped slivers (< MIN_VISIBLE_PX) stay as texture: every labelled pixel is red, few red pixels unlabelled.
        assert np.all(red[union])
        _, _, stats, _ = cv2.connectedComponentsWithStats((red & ~union).astype(np.uint8), connectivity=4)
        assert np.all(stats[1:, cv2.CC_STAT_AREA] < MIN_VISIBLE_PX)
        assert not np.any(scene.masks.sum(axis=0) > 1), "instances overlap in their masks"
        for mask, box in zip(scene.masks, scene.boxes, strict=True):
            assert np.array_equal(box, box_from_mask(mask))
        assert (scene.kinds == 0).sum() >= 2
        assert len(set(scene.kind_names)) == len(scene.kind_names)


def test_copies_respect_the_overlap_limit_of_the_settings(monkeypatch):
    _black(monkeypatch)
    settings = SceneSettings(colour_jitter=0.0, blur_probability=0.0, generated_background_fraction=1.0,
                             generated_fraction=0.0, max_overlap=0.0, copies=(20, 40), object_size=(20, 30))
    scene = compose_scene(_black_sources(), settings, np.random.default_rng(0))
    # With no overlap allowed no paste covers another: every mask is a whole (rotated) rectangle, as convex as
    # its hull (an occluded one would have a bite out of it).
    cutout = [i for i, kind in enumerate(scene.kinds) if scene.kind_names[kind] in ("car", "cup")]
    assert cutout
    for mask in scene.masks[cutout]:  # (procedural distractors may be stars or rings: not convex)
        points = np.argwhere(mask)[:, ::-1].astype(np.int32)
        hull = cv2.contourArea(cv2.convexHull(points))
        assert mask.sum() >= 0.9 * hull


def test_copies_cut_by_the_scene_border_are_labelled_by_their_visible_part(monkeypatch):
    _black(monkeypatch)
    settings = SceneSettings(colour_jitter=0.0, blur_probability=0.0, edge_softness=(0.01, 0.01),
                             generated_fraction=0.0, generated_background_fraction=1.0, copies=(20, 40),
                             object_size=(40, 60), distractor_kinds=(0, 0), border_overhang=0.5)
    rng = np.random.default_rng(5)
    cut = 0
    for _ in range(4):
        scene = compose_scene(_black_sources(), settings, rng)
        height, width = scene.image.shape[:2]
        red = scene.image[..., 0] >= 128
        assert np.all(red[scene.masks.any(axis=0)])
        for mask, box in zip(scene.masks, scene.boxes, strict=True):
            assert np.array_equal(box, box_from_mask(mask)) and mask.sum() >= MIN_VISIBLE_PX
        touching = ((scene.boxes[:, 0] <= 0) | (scene.boxes[:, 1] <= 0) | (scene.boxes[:, 2] >= width)
                    | (scene.boxes[:, 3] >= height))
        # A whole sprite here is 40-60 px long; a labelled instance on the edge with far fewer pixels was cut.
        cut += int(np.sum(touching & (scene.masks.sum(axis=(1, 2)) < 0.5 * 40 * 40 * 0.5)))
    assert cut > 0, "no copy was cut by the scene border"
    inside = compose_scene(_black_sources(), dataclasses.replace(settings, border_overhang=0.0),
                           np.random.default_rng(5))
    assert inside.boxes[:, :2].min() >= 0


def test_border_overhang_is_off_by_default_and_leaves_earlier_scenes_unchanged():
    sources = SceneSources(cutouts={}, backgrounds=[np.full((64, 96, 3), 90, np.uint8)],
                           background_categories=[frozenset()])
    plain = compose_scene(sources, SceneSettings(), np.random.default_rng(4))
    again = compose_scene(sources, SceneSettings(border_overhang=0.0), np.random.default_rng(4))
    assert SceneSettings().border_overhang == 0.0
    assert np.array_equal(plain.image, again.image)
    cut = compose_scene(sources, SceneSettings(border_overhang=0.5), np.random.default_rng(4))
    assert not np.array_equal(plain.image, cut.image)


def test_fill_out_removes_the_masked_object():
    image = np.full((100, 120, 3), 40, np.uint8)
    image[30:60, 40:80] = 250  # an object of a held-out class
    mask = np.zeros((100, 120), bool)
    mask[30:60, 40:80] = True
    filled = fill_out(image, mask, long_side=120)
    assert filled.shape == image.shape
    assert np.abs(filled[35:55, 45:75].astype(int) - 40).max() <= 3


def _dataset_with_held_out_person() -> Dataset:
    rng = np.random.default_rng(0)
    pixels = (rng.random((80, 100, 3)) * 50).astype(np.uint8)
    pixels[10:40, 10:30] = (0, 0, 255)  # person: held out
    pixels[50:70, 60:95] = (255, 255, 0)  # car: a training class
    person = InstanceAnnotation(0, "person", np.array([10, 10, 30, 40], np.float32),
                                polygons=(np.array([[10, 10], [30, 10], [30, 40], [10, 40]], np.float32),))
    car = InstanceAnnotation(1, "car", np.array([60, 50, 95, 70], np.float32),
                             polygons=(np.array([[60, 50], [95, 50], [95, 70], [60, 70]], np.float32),))
    image = AnnotatedImage("a", lambda: pixels.copy(), 80, 100, (person, car))
    return Dataset(("person", "car"), (image,))


def test_sources_never_paste_or_show_an_excluded_class():
    dataset = _dataset_with_held_out_person()
    with pytest.raises(ValueError, match="held-out class must never be pasted"):
        SceneSources.from_dataset(dataset, ["person", "car"], ["person"])
    sources = SceneSources.from_dataset(dataset, ["car"], ["person"])
    assert set(sources.cutouts) == {"car"}
    background = sources.backgrounds[0]
    scale = background.shape[1] / 100
    person_area = background[int(12 * scale) : int(38 * scale), int(12 * scale) : int(28 * scale)]
    assert person_area[..., 2].mean() < 120, "the person's blue is still in the background"
    # The background still shows a car, so car cut-outs are never pasted on it (an unlabelled positive).
    assert sources.background_categories == [frozenset({"car"})]
    settings = SceneSettings(generated_background_fraction=0.0, generated_fraction=0.0, distractor_kinds=(0, 0))
    rng = np.random.default_rng(1)
    for _ in range(5):
        assert "car" not in compose_scene(sources, settings, rng).kind_names


def test_filled_classes_are_pasted_but_filled_out_of_backgrounds():
    """A development set of kinds no training saw pastes the validation classes: they leave the backgrounds (no
    unlabelled copy of a pasted kind) and their cut-outs may be drawn."""
    dataset = _dataset_with_held_out_person()
    sources = SceneSources.from_dataset(dataset, ["car"], ["person"], filled=["car"])
    assert set(sources.cutouts) == {"car"}
    assert sources.background_categories == [frozenset()]
    background = sources.backgrounds[0]
    scale = background.shape[1] / 100
    car_area = background[int(52 * scale) : int(68 * scale), int(62 * scale) : int(93 * scale)]
    assert car_area[..., 0].mean() < 150, "the car's yellow is still in the background"
    settings = SceneSettings(generated_background_fraction=0.0, generated_fraction=0.0, distractor_kinds=(0, 0))
    rng = np.random.default_rng(1)
    assert any("car" in compose_scene(sources, settings, rng).kind_names for _ in range(5))


def test_coco128_scenes_never_hold_split_1_or_2_classes(coco128_dir):
    from model.data.loading import load_dataset

    dataset = load_dataset(coco128_dir, "yolo-seg")
    held_out = paper_split(1).held_out | paper_split(2).held_out
    train = [c for c in dataset.categories if c not in held_out]
    small = Dataset(dataset.categories, dataset.images[:24], dataset.name)
    sources = SceneSources.from_dataset(small, train, held_out)
    assert sources.cutouts and not set(sources.cutouts) & held_out
    rng = np.random.default_rng(0)
    for _ in range(10):
        scene = compose_scene(sources, SceneSettings(), rng)
        assert not set(scene.kind_names) & held_out
        for shown in sources.background_categories:
            assert not shown & held_out


def test_sampler_gives_same_image_episodes(monkeypatch):
    _black(monkeypatch)
    sampler = SceneSampler(_black_sources(), SHARP, seed=0)
    episode = next(iter(sampler))
    assert episode.reference_image is episode.query_image
    assert len(episode.gt_boxes) >= 2 and episode.gt_masks.shape[0] == len(episode.gt_boxes)
    assert any(np.array_equal(episode.reference_box, b) for b in episode.gt_boxes)
    assert len(episode.object_boxes) >= len(episode.gt_boxes)


def test_generated_kinds_vary_around_one_design():
    sprites = generated_kind(np.random.default_rng(5), "shape-1", variants=4)
    assert len(sprites) == 4 and {s.kind for s in sprites} == {"shape-1"}
    for sprite in sprites:
        assert sprite.rgb.shape[:2] == sprite.alpha.shape and sprite.alpha.max() == 1.0
        assert sprite.rgb.dtype == np.uint8


def test_photo_textured_kinds_wear_a_piece_of_the_photo():
    rng = np.random.default_rng(2)
    photo = np.zeros((60, 80, 3), np.uint8)
    photo[..., 1] = 200  # a green photo: its patches are green whatever the crop and turn
    patch = photo_patch(photo, rng)
    assert patch.shape == (GENERATED_SIDE_PX, GENERATED_SIDE_PX, 3) and patch.dtype == np.float32
    assert np.allclose(patch[..., 1], 200) and np.allclose(patch[..., [0, 2]], 0)
    for sprite in generated_kind(rng, "shape-2", variants=3, photo=patch):
        inside = sprite.alpha >= 0.5
        # Every shape shows the photo inside (x0.95-1.05); the droplet shape mixes 0.6 of it into its core.
        assert np.median(sprite.rgb[..., 1][inside]) >= 0.6 * 0.95 * 200
    with pytest.raises(ValueError, match="at least"):
        photo_patch(np.zeros((10, 80, 3), np.uint8), rng)


def test_photo_textures_are_off_by_default_and_leave_earlier_scenes_unchanged():
    sources = SceneSources(cutouts={}, backgrounds=[np.full((64, 96, 3), 90, np.uint8)],
                           background_categories=[frozenset()])
    plain = compose_scene(sources, SceneSettings(), np.random.default_rng(4))
    again = compose_scene(sources, SceneSettings(photo_texture_fraction=0.0), np.random.default_rng(4))
    assert np.array_equal(plain.image, again.image)
    photo = compose_scene(sources, SceneSettings(photo_texture_fraction=1.0), np.random.default_rng(4))
    assert not np.array_equal(plain.image, photo.image)


def test_scene_settings_changes_check_their_fields():
    changed = SceneSettings.with_changes([("photo_texture_fraction", 0.5), ("copies", [3, 9])])
    assert changed.photo_texture_fraction == 0.5 and changed.copies == (3, 9)
    with pytest.raises(ValueError, match="unknown scene setting 'photo_fraction'.*photo_texture_fraction"):
        SceneSettings.with_changes([("photo_fraction", 0.5)])


def test_cutouts_refuse_unknown_classes_and_skip_fragments():
    dataset = _dataset_with_held_out_person()
    with pytest.raises(ValueError, match="not in"):
        cutouts_from_dataset(dataset, ["bicycle"])
    cut = cutouts_from_dataset(dataset, ["car"])["car"][0]
    assert cut.rgb.shape[:2] == (20, 35) and cut.alpha.mean() == 1.0


def test_written_scene_set_reads_back_with_exact_masks(tmp_path, monkeypatch):
    _black(monkeypatch)
    path = write_scene_set(tmp_path, _black_sources(), count=2, seed=0, settings=SHARP)
    data = json.loads(path.read_text())
    assert len(data["images"]) == 2
    dataset = read_coco(path)  # file names are relative to the JSON's folder
    image = dataset.images[0]
    pixels = image.load_image()
    for annotation in image.instances:
        mask = annotation.mask(image.height, image.width)
        assert np.array_equal(annotation.box, box_from_mask(mask))
        if annotation.category.split("@")[0] in ("car", "cup"):
            assert pixels[..., 0][mask].mean() >= 180  # red inside the masks (JPEG blurs the edges' chroma)


def test_synth_command_writes_a_set_without_held_out_classes(coco128_subset, tmp_path):
    from model.cli import main

    out = tmp_path / "synth"
    assert main(["synth", "--data", str(coco128_subset), "--format", "yolo-seg", "--count", "2", "--seed", "3",
                 "--out", str(out)]) == 0
    dataset = read_coco(out / "annotations.json")
    assert len(dataset.images) == 2 and all(image.instances for image in dataset.images)
    held_out = paper_split(1).held_out | paper_split(2).held_out
    assert not {name.split("@")[0] for name in dataset.categories} & held_out


def test_synth_sprite_split_pastes_validation_classes_only(coco128_subset, tmp_path):
    """`--sprite-split 2 --exclude-split 1 --generated-fraction 0`: real kinds no training saw (split 2), never a
    test class (split 1), no procedural kind."""
    from model.cli import main

    out = tmp_path / "transfer"
    assert main(["synth", "--data", str(coco128_subset), "--format", "yolo-seg", "--exclude-split", "1",
                 "--sprite-split", "2", "--generated-fraction", "0", "--count", "3", "--seed", "5",
                 "--out", str(out)]) == 0
    dataset = read_coco(out / "annotations.json")
    kinds = {name.split("@")[0] for name in dataset.categories}
    assert kinds and kinds <= paper_split(2).held_out
    assert not kinds & paper_split(1).held_out


@pytest.mark.parametrize("extra, message", [
    (["--sprite-split", "2"], "also in --exclude-split"),
    (["--sprite-split", "2", "--exclude-split", "1", "--generated-fraction", "1.5"], "must be in \\[0, 1\\]"),
])
def test_synth_refuses_contradictory_sprite_settings(extra, message, tmp_path, capsys):
    """Refused before any data is read (the data path does not exist), exit 2 with the reason."""
    import re

    from model.cli import main

    assert main(["synth", "--data", str(tmp_path / "absent"), "--format", "yolo-seg", "--out", str(tmp_path / "o"),
                 *extra]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "o").exists()
