"""Reading image files for datasets: pixels and sizes after EXIF orientation, without TensorFlow.

Annotation tools (browsers, Label Studio) show photos with their EXIF orientation applied, so annotations refer to
the oriented image; reading applies it too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "image_size", "read_image_rgb"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
"""File suffixes (lower case) that readers and search treat as images."""

_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


def read_image_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file.

    Args:
        path: any format Pillow reads (grayscale, RGBA, palette and 16-bit are converted).

    Returns:
        `(H, W, 3)` uint8 RGB with the EXIF orientation applied.

    Raises:
        ValueError: the file is not a readable image (message names the file).
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                array = array / max(float(array.max()), 1.0) * 255.0
                return np.repeat(array.astype(np.uint8)[..., None], 3, axis=2)
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot read image {path}: {error}") from error


def image_size(path: str | Path) -> tuple[int, int]:
    """`(height, width)` of an image file after EXIF orientation, read from the header only."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot read image {path}: {error}") from error
    if orientation in _TRANSPOSING_ORIENTATIONS:
        width, height = height, width
    return height, width
