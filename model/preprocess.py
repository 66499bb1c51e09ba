"""From an RGB image to network inputs: square resize with zero padding, molding, reference crops.

The query follows the paper's "square" mode: upscale so the short side reaches `min_dim` unless the long side
would exceed `size`, in which case the long side becomes `size`; centre it on a zero `size x size` canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ResizeInfo:
    """How an original image sits inside the padded square input.

    Attributes:
        original_shape: (H, W) of the original image.
        scale: resized / original.
        window: (y1, x1, y2, x2) pixels of the resized image inside the padded square (y2, x2 exclusive).
        size: side of the padded square.
    """

    original_shape: tuple[int, int]
    scale: float
    window: tuple[int, int, int, int]
    size: int

    def normalized_window(self) -> np.ndarray:
        """The window in the network's normalised `(y1, x1, y2, x2)` convention: float32 (4,)."""
        y1, x1, y2, x2 = self.window
        return ((np.array([y1, x1, y2, x2], np.float32) - [0, 0, 1, 1]) / (self.size - 1)).astype(np.float32)


def resize_square(image: np.ndarray, size: int, min_dim: int, *, antialias: bool = False) -> tuple[np.ndarray, ResizeInfo]:
    """Resize and pad an RGB image to `size x size`.

    Args:
        image: uint8 (H, W, 3).
        antialias: use area interpolation when shrinking (the paper's skimage 0.13 did not: False reproduces it).
    Returns:
        float32 (size, size, 3) in 0..255 (not molded), and the `ResizeInfo`.
    """
    h, w = image.shape[:2]
    scale = max(1.0, min_dim / min(h, w))
    if round(max(h, w) * scale) > size:
        scale = size / max(h, w)
    new_h = min(size, max(1, round(h * scale)))
    new_w = min(size, max(1, round(w * scale)))
    interpolation = cv2.INTER_AREA if antialias and scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation) if (new_h, new_w) != (h, w) else image
    top = (size - new_h) // 2
    left = (size - new_w) // 2
    canvas = np.zeros((size, size, 3), np.float32)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, ResizeInfo((h, w), scale, (top, left, top + new_h, left + new_w), size)


def mold(image: np.ndarray, mean_pixel: tuple[float, float, float]) -> np.ndarray:
    """Subtract the mean pixel (the only normalisation the paper's ResNet uses): float32 (..., 3)."""
    return (np.asarray(image, np.float32) - np.asarray(mean_pixel, np.float32)).astype(np.float32)


def validate_box(box, image_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Check a reference box `(x1, y1, x2, y2)` pixels and clip it to the image.

    Returns:
        integer (x1, y1, x2, y2) inside the image, at least 1 pixel wide and high.
    Raises:
        ValueError: NaN or infinite coordinates, x2 <= x1 or y2 <= y1, or no overlap with the image.
    """
    values = np.asarray(box, np.float64).reshape(-1)
    if values.shape != (4,):
        raise ValueError(f"a box needs 4 numbers (x1, y1, x2, y2), got {list(values)}")
    if not np.isfinite(values).all():
        raise ValueError(f"box has NaN or infinite coordinates: {list(values)}")
    x1, y1, x2, y2 = values
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box ({x1}, {y1}, {x2}, {y2}) has zero or negative area: need x2 > x1 and y2 > y1")
    h, w = image_shape
    cx1, cy1 = max(0, math.floor(x1)), max(0, math.floor(y1))
    cx2, cy2 = min(w, math.ceil(x2)), min(h, math.ceil(y2))
    if cx2 <= cx1 or cy2 <= cy1:
        raise ValueError(f"box ({x1}, {y1}, {x2}, {y2}) lies outside the {w}x{h} image")
    return cx1, cy1, cx2, cy2


def reference_crop(
    image: np.ndarray, box, size: int, min_dim: int, *, antialias: bool = False
) -> np.ndarray:
    """Crop a reference box from an RGB image and letterbox it to `size x size` (float32, 0..255).

    The paper crops from the resized query-space image; cropping the original and resizing once is the same up to
    interpolation, and keeps small objects sharper.
    """
    x1, y1, x2, y2 = validate_box(box, image.shape[:2])
    crop, _ = resize_square(np.ascontiguousarray(image[y1:y2, x1:x2]), size, min_dim, antialias=antialias)
    return crop


def reference_inputs(image: np.ndarray, boxes, config) -> np.ndarray:
    """Network inputs for K reference boxes `(x1, y1, x2, y2)` pixels in one RGB image.

    Args:
        image: uint8 (H, W, 3). boxes: (K, 4) or (4,). config: a `ModelConfig` (reference size, preprocessing).
    Returns:
        float32 (K, R, R, 3), letterboxed and, unless the config keeps the paper's raw references, molded; with
        `config.reference_dihedral` (8K, R, R, 3): each box's 8 flips and right-angle rotations (`dihedral_views`).
    Raises:
        ValueError: no boxes, or a box that is NaN, empty or outside the image.
    """
    boxes = np.asarray(boxes, np.float64)
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) == 0:
        raise ValueError(f"reference boxes must be (K, 4) x1, y1, x2, y2 pixels with K >= 1, got shape {boxes.shape}")
    crops = np.stack(
        [
            reference_crop(image, box, config.reference_size, config.reference_min_dim, antialias=config.resize_antialias)
            for box in boxes
        ]
    )
    if config.reference_dihedral:
        crops = dihedral_views(crops)
    if config.reference_preprocessing == "mean_subtracted":
        crops = mold(crops, config.mean_pixel)
    return crops.astype(np.float32)


DIHEDRAL_VIEWS = 8
"""The square's symmetries: 4 right-angle rotations, each also mirrored."""


def dihedral_views(crops: np.ndarray) -> np.ndarray:
    """(K, R, R, C) square crops -> (8K, R, R, C): each crop rotated by 0, 90, 180 and 270 degrees, each of those
    also mirrored left-right, crop by crop (the first view of each crop is the crop itself)."""
    views = []
    for crop in crops:
        for quarter in range(4):
            rotated = np.rot90(crop, quarter, axes=(0, 1))
            views += [rotated, rotated[:, ::-1]]
    return np.ascontiguousarray(np.stack(views))
