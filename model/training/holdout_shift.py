"""Shifted copies of held-out images: the same objects under other light and focus, for calibrating a fine-tuned
child's score threshold on images that are not only new but also a little different (issue 18, session 17).

A child's threshold is chosen on a held-out slice of the project's accepted images (`model.training.holdout_effort`).
With 1-2 held-out images the child often answers them perfectly over a wide range of thresholds, and near ties go to
the highest; the project's next images (another clip, another session under the microscope, other light) score
lower and lose objects at that threshold. Judging the child on copies of the held-out images whose light and focus
have changed asks for a threshold that still holds there.

Each copy keeps the image's size and every instance as it is (the shifts are photometric: nothing moves), so its
annotations are the original's. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from model.data.annotations import AnnotatedImage, Dataset
from model.data.augment import NETWORK_SIDE, blur_at_network_scale, flatten_and_scale

__all__ = ["DIM_BRIGHTNESS", "DIM_CONTRAST", "DEFOCUS_SIGMA", "NETWORK_SIDE", "SHIFTS", "defocus", "dim",
           "with_shifted_copies"]

DIM_CONTRAST = 0.6
"""`dim`: pixel values move this share of their distance from the image's mean (0.6: 40% flatter)."""
DIM_BRIGHTNESS = 0.8
"""`dim`: then every value is multiplied by this (20% darker)."""
DEFOCUS_SIGMA = 1.5
"""`defocus`: the Gaussian blur's sigma in pixels of the network's input (`NETWORK_SIDE` on the long side)."""


def dim(image: np.ndarray) -> np.ndarray:
    """Dimmer and flatter: values towards the image's mean by `DIM_CONTRAST`, then x `DIM_BRIGHTNESS`.

    Args:
        image: `(H, W, 3)` uint8 RGB.

    Returns:
        `(H, W, 3)` uint8 RGB.
    """
    return flatten_and_scale(image, DIM_CONTRAST, DIM_BRIGHTNESS)


def defocus(image: np.ndarray) -> np.ndarray:
    """Out of focus: a Gaussian blur of `DEFOCUS_SIGMA` px at the network's input, i.e. sigma = `DEFOCUS_SIGMA` x
    long side / `NETWORK_SIDE` in the image's own pixels.

    Args:
        image: `(H, W, 3)` uint8 RGB.

    Returns:
        `(H, W, 3)` uint8 RGB.
    """
    return blur_at_network_scale(image, DEFOCUS_SIGMA)


SHIFTS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (("dim", dim), ("defocus", defocus))
"""The shifted copies each held-out image gets, by name (the name suffixes the copy's `image_id`)."""


def with_shifted_copies(dataset: Dataset) -> Dataset:
    """`dataset`'s images followed by one copy of each per shift in `SHIFTS` (image ids `<id>~<shift>`).

    The copies decode lazily (their source applies the shift to the original's pixels) and keep the original's
    size, instances and group.
    """
    copies = tuple(_shifted(image, name, shift) for name, shift in SHIFTS for image in dataset.images)
    return Dataset(dataset.categories, dataset.images + copies, dataset.name)


def _shifted(image: AnnotatedImage, name: str, shift: Callable[[np.ndarray], np.ndarray]) -> AnnotatedImage:
    return replace(image, image_id=f"{image.image_id}~{name}", source=lambda: shift(image.load_image()))
