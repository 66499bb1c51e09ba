"""Synthetic test images: several instances of one kind on a plain background."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def scene(width: int = 640, height: int = 480) -> np.ndarray:
    """A grey image with four red rectangles (instances of one kind) and a blue disc."""
    image = np.full((height, width, 3), 200, np.uint8)
    for x, y in [(40, 60), (300, 80), (500, 300), (150, 350)]:
        image[y:y + 80, x:x + 90] = (200, 30, 30)
    yy, xx = np.mgrid[:height, :width]
    image[(xx - 420) ** 2 + (yy - 200) ** 2 < 30 ** 2] = (30, 30, 200)
    return image


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()
