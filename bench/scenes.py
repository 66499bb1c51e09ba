"""Synthetic benchmark images: N copies of one object on a textured background.

Every image is different (the background noise depends on `seed`), so its content digest differs and the worker's
feature cache never hits by accident: a "cold" request is really cold. The objects sit on a grid, do not overlap,
and have known boxes and masks (used as reference boxes and as training targets).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

__all__ = ["ASPECT", "Scene", "encode_jpeg", "make_scene"]

ASPECT = 3 / 4
"""Height / width of the benchmark's 4:3 landscape images, wherever a run names only their long side."""
JPEG_QUALITY = 90
OBJECT_FILL = 0.6
"""Object diameter as a fraction of its grid cell."""
NOISE_LEVEL = 12
OBJECT_COLOUR = (200, 40, 40)
STRIPE_COLOUR = (245, 245, 245)


@dataclass(frozen=True)
class Scene:
    """A synthetic image and its objects.

    Attributes:
        image: uint8 (H, W, 3) RGB.
        boxes: float32 (N, 4) `x1, y1, x2, y2` pixels of the N objects (row-major grid order).
    """

    image: np.ndarray
    boxes: np.ndarray

    def masks(self) -> np.ndarray:
        """(N, H, W) bool masks of the objects (ellipses inscribed in their boxes)."""
        h, w = self.image.shape[:2]
        out = np.zeros((len(self.boxes), h, w), np.uint8)
        for index, (x1, y1, x2, y2) in enumerate(self.boxes):
            centre = (int(round((x1 + x2) / 2)), int(round((y1 + y2) / 2)))
            axes = (max(1, int((x2 - x1) / 2)), max(1, int((y2 - y1) / 2)))
            cv2.ellipse(out[index], centre, axes, 0, 0, 360, 1, thickness=-1)
        return out.astype(bool)


def make_scene(height: int, width: int, copies: int, seed: int) -> Scene:
    """An image of `height` x `width` with `copies` (>= 1) identical objects on a seeded textured background.

    Raises:
        ValueError: non-positive size or count, or more objects than fit at 8 px each.
    """
    if height < 8 or width < 8 or copies < 1:
        raise ValueError(f"need height, width >= 8 and copies >= 1, got {height}x{width}, {copies}")
    cols = max(1, math.ceil(math.sqrt(copies * width / height)))
    rows = math.ceil(copies / cols)
    cell_w, cell_h = width / cols, height / rows
    side = OBJECT_FILL * min(cell_w, cell_h)
    if side < 8:
        raise ValueError(f"{copies} objects do not fit in {height}x{width} (each would be {side:.1f} px)")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 90 + 60 * (xx / width) + 40 * (yy / height)
    image = np.stack([base, base * 0.9 + 20, base * 0.7 + 40], axis=-1)
    image += rng.normal(0, NOISE_LEVEL, image.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    boxes = []
    for index in range(copies):
        row, col = divmod(index, cols)
        cx, cy = (col + 0.5) * cell_w, (row + 0.5) * cell_h
        x1, y1 = cx - side / 2, cy - side / 2
        centre = (int(round(cx)), int(round(cy)))
        axes = (int(side / 2), int(side / 2))
        cv2.ellipse(image, centre, axes, 0, 0, 360, OBJECT_COLOUR, thickness=-1)
        cv2.line(image, (int(x1 + side * 0.25), centre[1]), (int(x1 + side * 0.75), centre[1]), STRIPE_COLOUR,
                 thickness=max(1, int(side / 10)))
        boxes.append((x1, y1, x1 + side, y1 + side))
    return Scene(image, np.asarray(boxes, np.float32))


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB image (what Label Studio usually serves)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
