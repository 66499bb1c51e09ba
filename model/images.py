"""Turning bytes or arrays into the one image format the model takes: uint8 RGB (H, W, 3).

EXIF orientation is applied (what the annotator sees in Label Studio is what the model sees), grayscale,
palette, RGBA, CMYK and 16-bit images are converted, animated images give their first frame, and decompression
bombs are refused before decoding.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
"""File suffixes (lower case) that dataset readers and folder search treat as images."""

DEFAULT_MAX_PIXELS = 64_000_000  # 8000 x 8000; Label Studio users do annotate large aerial images
MIN_SIDE = 1


class ImageDecodeError(ValueError):
    """The bytes are not an image we can read (not an image, truncated, corrupt, or too large)."""


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_long_side: int | None = None
                 ) -> np.ndarray:
    """Decode image bytes (JPEG, PNG, GIF, BMP, TIFF, WebP) into uint8 RGB (H, W, 3), EXIF-rotated.

    Args:
        data: the file's bytes.
        max_pixels: larger images (width x height of the file) are refused before decoding.
        min_long_side: when given, a JPEG is decoded at the smallest of its built-in scales (1, 1/2, 1/4, 1/8)
            whose long side is still at least this many pixels: several times faster for a photo much larger
            than needed (a 4032x3024 JPEG at 1/2 decodes in a fifth of the time). Other formats, and JPEGs
            already small enough, decode at full size. The caller must then map coordinates between sizes.

    Raises:
        ImageDecodeError: with the reason (not an image, truncated, or more than `max_pixels` pixels).
    """
    if not data:
        raise ImageDecodeError("empty image data")
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageDecodeError(
                    f"image is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels}; "
                    "downscale it or raise the pixel limit (MAX_IMAGE_PIXELS)"
                )
            if min_long_side is not None and img.format == "JPEG" and max(width, height) > min_long_side:
                # draft() picks the smallest scale that keeps both sides at least as large as asked: ask for the
                # image's shape with its long side at min_long_side.
                factor = min_long_side / max(width, height)
                img.draft("RGB", (math.ceil(width * factor), math.ceil(height * factor)))
            img.seek(0)  # first frame of an animation
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            return pil_to_rgb(ImageOps.exif_transpose(img))
    except ImageDecodeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"cannot decode image ({len(data)} bytes): {exc}") from exc


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read and decode an image file: uint8 RGB (H, W, 3). Raises ImageDecodeError naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"cannot read image {path}: {exc}") from exc
    try:
        return decode_image(data, max_pixels=max_pixels)
    except ImageDecodeError as exc:
        raise ImageDecodeError(f"{path}: {exc}") from exc


def image_size(path: str | Path | BinaryIO) -> tuple[int, int]:
    """`(height, width)` of an image file (a path, or a binary file object) after EXIF orientation, read from the
    header only.

    Raises:
        ImageDecodeError: the file is not a readable image (the message names it).
    """
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(f"cannot read image {path}: {exc}") from exc
    if orientation in _TRANSPOSING_ORIENTATIONS:
        width, height = height, width
    return height, width


_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)  # orientations that swap width and height


def pil_to_rgb(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> uint8 RGB array. 16-bit and 32-bit integer images are scaled by their range."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return to_rgb(np.asarray(img))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, img)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Normalise an array to uint8 RGB (H, W, 3).

    Accepts (H, W), (H, W, 1), (H, W, 3), (H, W, 4) (alpha dropped); uint8, uint16 / other integers (scaled by the
    dtype's range when above 255), and floats in [0, 1] or [0, 255].
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {array.shape}")
    if array.shape[0] < MIN_SIDE or array.shape[1] < MIN_SIDE:
        raise ValueError(f"image has no pixels: shape {array.shape}")
    if array.shape[2] == 4:
        array = array[..., :3]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError("image has NaN or infinite values")
        peak = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        return np.clip(np.round(array / peak * 255.0), 0, 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        peak = int(array.max(initial=0))
        if peak <= 255:
            return array.astype(np.uint8)
        bits = 16 if peak <= 65535 else 32
        return np.clip(array.astype(np.float64) / (2**bits - 1) * 255.0, 0, 255).round().astype(np.uint8)
    raise ValueError(f"unsupported image dtype {array.dtype}")
