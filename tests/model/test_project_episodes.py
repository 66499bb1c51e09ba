"""The recipe's episodes: other labels stay as negatives, copy-paste scenes keep masks exact and never use the
judged (held-out) images."""

from __future__ import annotations

import itertools

import numpy as np
from project_scenes import DISC, TILE, project, project_image

from model.data.annotations import Dataset, box_from_mask
from model.training.holdout_split import split_holdout
from model.training.project_episodes import project_episodes, project_scene_sources

EPISODES = 40


def _real_and_scenes(dataset: Dataset, seed: int = 0):
    episodes = list(itertools.islice(project_episodes(dataset, seed=seed), EPISODES))
    real = [e for e in episodes if not e.query_id.startswith("scene-")]
    scenes = [e for e in episodes if e.query_id.startswith("scene-")]
    assert real and scenes, "both streams must feed the recipe"
    return real, scenes


def test_real_episodes_target_one_label_and_keep_the_others_in_the_image_as_negatives():
    dataset = project(3)
    real, _ = _real_and_scenes(dataset)
    by_id = {image.image_id: image for image in dataset.images}
    labels_seen = set()
    for episode in real:
        image = by_id[episode.query_id]
        cid = dataset.category_id(episode.category)
        mine = image.boxes(image.instances_of(cid))
        others = [a for a in image.instances if a.category_id != cid]
        np.testing.assert_array_equal(np.sort(episode.gt_boxes, axis=0), np.sort(mine, axis=0))
        assert others, "every image holds both labels"
        for other in others:  # still there, untouched (no augmentation here), and not a target
            x1, y1, x2, y2 = (int(v) for v in other.box)
            assert np.array_equal(episode.query_image[y1:y2, x1:x2], image.load_image()[y1:y2, x1:x2])
        labels_seen.add(episode.category)
    assert labels_seen == {"tile", "disc"}
    same_image = [e for e in real if e.reference_id == e.query_id]
    assert 0 < len(same_image) < len(real), "same-image and cross-image episodes are interleaved"


def test_scene_backgrounds_keep_the_other_labels_and_fill_out_the_pasted_one():
    sources = project_scene_sources(project(2))
    assert set(sources.cutouts) == {"tile", "disc"}
    assert sorted(map(sorted, sources.background_categories)) == [["disc"], ["disc"], ["tile"], ["tile"]]


def test_copy_paste_scenes_have_exact_masks():
    _, scenes = _real_and_scenes(project(3))
    for episode in scenes:
        assert len(episode.gt_boxes) >= 2
        for mask, box in zip(episode.gt_masks, episode.gt_boxes, strict=True):
            np.testing.assert_array_equal(box_from_mask(mask), box)
            colour = np.median(episode.query_image[mask], axis=0)  # median: a 12 px paste is mostly soft edge
            wanted = TILE if episode.category == "tile" else DISC
            assert np.abs(colour - wanted).max() < 40, (episode.category, colour)


def test_copy_paste_never_uses_judged_images():
    judged_background, judged_tile = (255, 0, 0), (255, 0, 255)
    count, fraction, seed = 5, 0.4, 0
    # each image its own video, so the split does not depend on the pixels the judged images are recoloured with
    held_ids = {image.image_id for image in split_holdout(
        Dataset(("tile", "disc"), tuple(project_image(s, group=str(s)) for s in range(count)), "project"),
        fraction, seed).holdout.images}
    dataset = Dataset(("tile", "disc"), tuple(
        project_image(s, background=judged_background, tile_colour=judged_tile, group=str(s))
        if f"img-{s}" in held_ids else project_image(s, group=str(s)) for s in range(count)), "project")
    split = split_holdout(dataset, fraction, seed)
    train, holdout = split.train, split.holdout
    assert {image.image_id for image in holdout.images} == held_ids and len(held_ids) == 2
    real, scenes = _real_and_scenes(train, seed=3)
    assert not {e.query_id for e in real} & held_ids and not {e.reference_id for e in real} & held_ids
    for episode in scenes:
        pixels = episode.query_image.astype(int)
        for colour in (judged_background, judged_tile):
            close = np.abs(pixels - np.asarray(colour)).max(axis=-1) < 30
            assert not close.any(), f"a judged image's colour {colour} appears in a training scene"


def test_some_copy_paste_scenes_paste_at_any_size_and_the_rest_at_the_accepted_sizes(monkeypatch):
    """The accepted tiles are 24 px of 128 (96 px in a 512 scene): the accepted-size scenes paste them at about that
    size, the any-size scenes from 12 px up; without any-size scenes no pasted tile is far smaller."""
    import model.training.project_episodes as recipe

    def scene_sizes():
        episodes = itertools.islice(project_episodes(project(3), seed=1), 120)
        return [float(np.median(np.maximum(e.gt_boxes[:, 2] - e.gt_boxes[:, 0], e.gt_boxes[:, 3] - e.gt_boxes[:, 1])))
                for e in episodes if e.query_id.startswith("scene-")]

    sizes = np.array(scene_sizes())
    assert recipe.ANY_SIZE_FRACTION > 0
    accepted_band = (sizes > 60) & (sizes < 140)
    assert accepted_band.sum() >= 0.25 * len(sizes), sizes
    assert (sizes < 40).sum() >= 0.1 * len(sizes), sizes
    monkeypatch.setattr(recipe, "ANY_SIZE_FRACTION", 0.0)
    assert min(scene_sizes()) > 60


def test_acquisition_shifts_change_the_look_of_some_episodes_and_move_nothing():
    """Same seed with and without `AcquisitionShift`: the same episodes (boxes, masks, references); some images
    shifted and some not; a reference drawn in the query image is shifted with it, one from another image alone."""
    from model.data.augment import AcquisitionShift

    dataset = project(3)
    plain = list(itertools.islice(project_episodes(dataset, seed=4), EPISODES))
    shifted = list(itertools.islice(project_episodes(dataset, acquisition=AcquisitionShift(), seed=4), EPISODES))
    changed = 0
    for before, after in zip(plain, shifted, strict=True):
        assert (before.query_id, before.reference_id, before.category) == (after.query_id, after.reference_id,
                                                                          after.category)
        assert np.array_equal(before.gt_boxes, after.gt_boxes) and np.array_equal(before.gt_masks, after.gt_masks)
        assert np.array_equal(before.reference_box, after.reference_box)
        assert after.query_image.shape == before.query_image.shape and after.query_image.dtype == np.uint8
        if before.reference_image is before.query_image:
            assert after.reference_image is after.query_image
        changed += not np.array_equal(before.query_image, after.query_image)
    assert 0 < changed < EPISODES, f"{changed} of {EPISODES} query images shifted: expected some, not all"
