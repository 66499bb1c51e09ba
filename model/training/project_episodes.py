"""The episodes a project's fine-tuning learns from: its accepted instances, multiplied.

Two streams, interleaved (`model.data.episodes.interleave`):
- **real episodes** of the accepted images (`EpisodeSampler` over every label of the project): the reference is
  drawn in the query image itself with probability `SAME_IMAGE_PROBABILITY` (the annotator's case: one box, find
  the others), else in another accepted image holding the label (cross-image, as the exemplar bank answers). Only
  the episode's label is a target; the other labels' instances stay in the image, unlabelled for this episode: the
  network is trained to suggest nothing on them (hard negatives, the confusions the measure counts as deletions);
- **copy-paste scenes** (`model.data.scenes.compose_scene`): the accepted cut-outs of the project's labels
  (`cutouts_from_dataset`) pasted 2-`MAX_COPIES` times, at the accepted objects' sizes or (`ANY_SIZE_FRACTION` of
  them) at any size, onto the project's own accepted images, with the pasted label's instances filled out of the
  background (no unlabelled positive) and the other labels left in place as hard negatives; other labels' cut-outs
  are pasted as distractors. Masks are exact (the composer's).

Optionally (`acquisition`), every episode of both streams then takes a random `AcquisitionShift` of its query image
and, independently, of its reference image (one shift when the reference was drawn in the query image itself).

Only the images passed in are ever used: the caller passes the training images, never the held-out (judged) ones.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from model.data.annotations import Dataset
from model.data.episodes import Episode, EpisodeSampler, interleave
from model.data.scenes import BACKGROUND_LONG_SIDE_PX, SceneSampler, SceneSettings, SceneSources, fill_out
from model.data.sprites import cutouts_from_dataset

__all__ = ["ANY_SIZE_FRACTION", "ANY_SIZE_PX", "MAX_COPIES", "SAME_IMAGE_PROBABILITY", "SCENE_FRACTION",
           "project_episodes", "project_scene_settings", "project_scene_sources"]

SAME_IMAGE_PROBABILITY = 0.5
"""Real episodes whose reference is drawn in the query image (when it holds another instance of the label)."""
SCENE_FRACTION = 0.5
"""Share of copy-paste scenes among the episodes (when the project has cut-outs with masks)."""
MAX_COPIES = 40
"""At most this many pasted copies of the target label per scene (a project's images rarely hold more)."""
ACQUISITION_SEED_OFFSET = 3
"""The acquisition shifts' random stream is `seed + this` (the streams above take `seed`, `seed + 1`, `seed + 2`)."""
SCENE_LONG_SIDE_PX = 512
SIZE_MARGIN = 1.25
"""Pasted objects' long sides range over the accepted ones' (scaled to the scene), widened by this factor."""
MIN_OBJECT_PX = 12.0
ANY_SIZE_FRACTION = 0.5
"""Share of the copy-paste scenes that paste the accepted objects at any size (log-uniform over `ANY_SIZE_PX`), the
rest at the accepted sizes. The accepted sizes are a narrow band when one crowded image supplies most instances,
and a project's next images may show its kinds at another magnification: a child that only saw the band forgets
the sizes its parent knew (docs/learning-loop.md, session 12)."""
ANY_SIZE_PX = (MIN_OBJECT_PX, 0.6 * SCENE_LONG_SIDE_PX)
"""Long sides of the any-size scenes' objects (the composer also keeps each within 0.6 of the scene's short side)."""


def project_scene_sources(train: Dataset) -> SceneSources:
    """Cut-outs of every label of `train`, and one background per (image, label it shows) with that label's
    instances filled out; the other labels stay in that background (it `shows` them, so their cut-outs are not
    pasted on it as targets).

    Returns:
        `SceneSources`; its `cutouts` is empty when no accepted instance has a usable mask (box-only labels).
    """
    cutouts = cutouts_from_dataset(train, [c for c in train.categories if train.images_with(train.category_id(c))])
    backgrounds, shown = [], []
    for image in train.images:
        present = sorted({a.category for a in image.instances if not a.iscrowd})
        if not present:
            continue
        pixels = image.load_image()
        for label in present:
            hole = np.zeros(pixels.shape[:2], bool)
            for annotation in image.instances:
                if annotation.category == label:
                    hole |= _region(annotation, image.height, image.width)
            backgrounds.append(fill_out(pixels, hole, BACKGROUND_LONG_SIDE_PX))
            shown.append(frozenset(present) - {label})
    return SceneSources(cutouts, backgrounds, shown)


def _region(annotation, height: int, width: int) -> np.ndarray:
    """The instance's mask, or its box for a box-only instance: `(height, width)` bool."""
    if annotation.has_mask:
        return annotation.mask(height, width)
    region = np.zeros((height, width), bool)
    x1, y1, x2, y2 = (int(round(v)) for v in annotation.box)
    region[max(0, y1):y2, max(0, x1):x2] = True
    return region


def project_scene_settings(train: Dataset, sources: SceneSources) -> SceneSettings:
    """Scenes like the project's images: objects of the accepted sizes (scaled to the scene), only the project's
    own kinds and backgrounds (no procedural ones), up to every other label as distractors."""
    longs, sizes = [], []
    for image in train.images:
        scale = SCENE_LONG_SIDE_PX / max(image.height, image.width)
        for a in image.instances:
            if a.category in sources.cutouts and not a.iscrowd:
                sizes.append(scale * float(max(a.box[2] - a.box[0], a.box[3] - a.box[1])))
        longs.append(max(image.height, image.width))
    low, high = (np.percentile(sizes, [10, 90]) if sizes else (24.0, 96.0))
    low = max(MIN_OBJECT_PX, float(low) / SIZE_MARGIN)
    high = max(low + 1.0, min(0.6 * SCENE_LONG_SIDE_PX, float(high) * SIZE_MARGIN))
    others = max(0, min(3, len(sources.cutouts) - 1))
    return replace(SceneSettings(), long_side=SCENE_LONG_SIDE_PX, copies=(2, MAX_COPIES), object_size=(low, high),
                   distractor_kinds=(0, others), generated_fraction=0.0,
                   generated_background_fraction=0.0 if sources.backgrounds else 1.0)


def project_episodes(train: Dataset, *, augmentation=None, acquisition=None, seed: int = 0) -> Iterator[Episode]:
    """Endless episodes of the project's training images (module docstring).

    Args:
        train: the accepted images used for training (never the held-out ones).
        augmentation: `model.data.augment.Augmentation` for the real episodes, or None.
        acquisition: `model.data.augment.AcquisitionShift` for every episode, or None.

    Raises:
        ValueError: no image can host an episode (no accepted instance).
    """
    real = EpisodeSampler(train, allow_same_image_reference=True, same_image_probability=SAME_IMAGE_PROBABILITY,
                          augmentation=augmentation, seed=seed)
    sources = project_scene_sources(train)
    if not sources.cutouts:
        return _shifted(iter(real), acquisition, seed)
    settings = project_scene_settings(train, sources)
    streams = [(1.0 - SCENE_FRACTION, iter(real)),
               (SCENE_FRACTION * (1.0 - ANY_SIZE_FRACTION), iter(SceneSampler(sources, settings, seed=seed + 1)))]
    if ANY_SIZE_FRACTION > 0:
        any_size = replace(settings, object_size=ANY_SIZE_PX)
        streams.append((SCENE_FRACTION * ANY_SIZE_FRACTION, iter(SceneSampler(sources, any_size, seed=seed + 2))))
    return _shifted(interleave(streams, seed=seed), acquisition, seed)


def _shifted(episodes: Iterator[Episode], acquisition, seed: int) -> Iterator[Episode]:
    """`episodes` with `acquisition.apply` on each query and reference image (once when they are one image); as they
    are when `acquisition` is None."""
    if acquisition is None:
        return episodes
    rng = np.random.default_rng(seed + ACQUISITION_SEED_OFFSET)

    def shift(episode: Episode) -> Episode:
        query = acquisition.apply(episode.query_image, rng)
        same = episode.reference_image is episode.query_image
        reference = query if same else acquisition.apply(episode.reference_image, rng)
        return replace(episode, query_image=query, reference_image=reference)

    return map(shift, episodes)
