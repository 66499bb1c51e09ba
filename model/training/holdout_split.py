"""Which accepted images the fine-tuning recipe judges rather than trains on: whole groups of near-copies.

Frames of one video, or shots of one capture session, are near-copies of each other. A child judged on a frame
whose siblings it trained on is judged on memory: it answers that frame perfectly over the whole threshold sweep,
the calibration picks the top of the sweep, and the gate lets it through, while on the project's other clips it
scores the same objects lower and misses them (docs/learning-loop.md). So the held-out slice is made of whole
groups, never of a group the training images share:

- an image's group is what its source says (`AnnotatedImage.group`: `video_id` / `video` of a COCO image or of a
  Label Studio task's data);
- images without one are grouped automatically: same size and a thumbnail correlation of at least
  `NEAR_COPY_CORRELATION` (single linkage: a chain of near-copies is one group);
- the held-out groups are chosen greedily: each time the group whose size brings the held-out count nearest
  `fraction` of the images (the seed only breaks ties between groups that fit equally well, so singletons are
  preferred when the target is 1 image), and at least one group always trains. With a single group (every image a
  near-copy of another) the split falls back to images, and `HoldoutSplit.disjoint` says the held-out figures are
  optimistic.

Limits: an image with a group from its source is never compared with one without (a partly tagged video can leak);
flat images have no signature and are never grouped automatically. The Train button's images carry their task's
clip when its data names one (the webhook store records it, `common.annotation_store`); the others are grouped
automatically.

numpy and OpenCV (thumbnails; each image is decoded once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from model.data.annotations import AnnotatedImage, Dataset

__all__ = ["NEAR_COPY_CORRELATION", "HoldoutSplit", "image_groups", "near_copy_groups", "split_holdout",
           "thumbnail_signature"]

THUMBNAIL_SIDE = 32
"""Side of the grey thumbnail two images are compared by."""
FLAT_SPREAD = 1e-6
"""Grey-level standard deviation below which a thumbnail is flat (no signature)."""
NEAR_COPY_CORRELATION = 0.8
"""Thumbnail correlation from which two same-sized images are near-copies. The most similar pair of distinct photos
of the same size in coco128 correlates 0.73 (735 pairs; 99th percentile 0.49), so distinct photos stay apart."""


@dataclass(frozen=True)
class HoldoutSplit:
    """The accepted images split for one fine-tuning run.

    Attributes:
        train / holdout: the two `Dataset`s (annotated images only; `holdout` may be empty).
        groups: how many groups of near-copies the annotated images form (when nothing is held out, fewer than
            2 images or a fraction of 0, they are not compared and each counts as its own group).
        holdout_groups: how many of them are held out (0 when the split fell back to single images).
        disjoint: True when no held-out image shares a group with a training image (False when nothing could be
            held out that way: then the held-out figures measure memory as well as learning).
    """

    train: Dataset
    holdout: Dataset
    groups: int
    disjoint: bool
    holdout_groups: int = 0

    def describe(self) -> dict:
        """JSON-safe summary for the card."""
        return {"train_images": len(self.train.images), "holdout_images": len(self.holdout.images),
                "groups": self.groups, "holdout_groups": self.holdout_groups, "disjoint": self.disjoint}


def thumbnail_signature(image: np.ndarray) -> np.ndarray:
    """An image's appearance as a normalised grey thumbnail.

    Args:
        image: `(H, W, 3)` uint8 RGB.

    Returns:
        `(THUMBNAIL_SIDE ** 2,)` float32 with mean 0 and standard deviation 1 (all zeros for a flat image); the
        dot product of two signatures over their length is their correlation.
    """
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    small = small.ravel() - small.mean()
    spread = float(small.std())
    return small / spread if spread > FLAT_SPREAD else np.zeros_like(small)


def near_copy_groups(sizes: Sequence[tuple[int, int]], signatures: Sequence[np.ndarray | None],
                     known: Sequence[str | None], threshold: float = NEAR_COPY_CORRELATION) -> list[int]:
    """Group images into near-copies.

    Args:
        sizes: `(height, width)` per image.
        signatures: `thumbnail_signature` per image (None where `known` names the group: it is not needed).
        known: the group the source gave, or None.
        threshold: correlation from which two same-sized images without a known group are near-copies.

    Returns:
        A group index per image, numbered 0.. in order of first appearance: images with the same known group
        share one; the others are joined (single linkage) when same-sized and correlated at least `threshold`.
    """
    count = len(sizes)
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[root(j)] = root(i)

    first_of: dict[str, int] = {}
    for i, group in enumerate(known):
        if group is not None:
            join(first_of.setdefault(group, i), i)
    unknown = [i for i in range(count) if known[i] is None]
    for a, i in enumerate(unknown):
        for j in unknown[a + 1:]:
            if tuple(sizes[i]) == tuple(sizes[j]):
                correlation = float(np.dot(signatures[i], signatures[j])) / len(signatures[i])
                if correlation >= threshold:
                    join(i, j)
    numbering: dict[int, int] = {}
    return [numbering.setdefault(root(i), len(numbering)) for i in range(count)]


def _choose_groups(sizes: Mapping[int, int], target: int, rng: np.random.Generator) -> set[int]:
    """Held-out groups, greedily: each time the group that brings the held-out count nearest `target` (ties: the
    seeded order), until no group brings it nearer; the first group is always taken; at least one group trains."""
    order = [int(g) for g in rng.permutation(sorted(sizes))]
    held: set[int] = set()
    count = 0
    while count < target and len(held) < len(sizes) - 1:
        best = min((g for g in order if g not in held), key=lambda g: abs(count + sizes[g] - target))
        if abs(count + sizes[best] - target) >= abs(count - target) and held:
            break
        held.add(best)
        count += sizes[best]
    return held


def image_groups(images: Sequence[AnnotatedImage], threshold: float = NEAR_COPY_CORRELATION) -> list[int]:
    """`near_copy_groups` of `images`, decoding only those whose source names no group."""
    signatures = [None if img.group is not None else thumbnail_signature(img.load_image()) for img in images]
    return near_copy_groups([(img.height, img.width) for img in images], signatures,
                            [img.group for img in images], threshold)


def split_holdout(dataset: Dataset, fraction: float, seed: int,
                  threshold: float = NEAR_COPY_CORRELATION) -> HoldoutSplit:
    """Split the annotated images into training and held-out ones by whole groups of near-copies (module docstring).

    The held-out slice aims at `round(fraction * n)` images, at least 1 from 2 images on; none with 1 image or
    `fraction <= 0`. Deterministic for a seed.
    """
    annotated = [img for img in dataset.images if img.instances]
    n = len(annotated)

    def subset(chosen) -> Dataset:
        return Dataset(dataset.categories, tuple(chosen), dataset.name)

    if n < 2 or fraction <= 0:
        return HoldoutSplit(subset(annotated), subset(()), n, True)
    target = min(n - 1, max(1, round(fraction * n)))
    groups = image_groups(annotated, threshold)
    sizes = Counter(groups)
    rng = np.random.default_rng(seed)
    if len(sizes) >= 2:
        held_groups = _choose_groups(sizes, target, rng)
        held = {i for i, g in enumerate(groups) if g in held_groups}
    else:  # one group: single images, not disjoint
        held_groups = set()
        held = {int(i) for i in rng.permutation(n)[:target]}
    return HoldoutSplit(subset(img for i, img in enumerate(annotated) if i not in held),
                        subset(img for i, img in enumerate(annotated) if i in held), len(sizes),
                        disjoint=bool(held_groups), holdout_groups=len(held_groups))
