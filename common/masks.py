"""Masks across process boundaries: COCO run-length encoding (compressed, as pycocotools writes it).

Format: `{"size": [H, W], "counts": str}`. `counts` is pycocotools' compressed string decoded as ASCII, so
the dict is JSON-safe. A full-resolution 4000x3000 blob mask is a few hundred bytes instead of 12 MB.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

__all__ = ["decode_mask", "encode_mask", "mask_area", "mask_bbox"]


def encode_mask(mask: np.ndarray) -> dict:
    """Encode a `(H, W)` bool (or 0/1 integer) mask as a JSON-safe COCO RLE dict."""
    if mask.ndim != 2:
        raise ValueError(f"encode_mask expects a (H, W) mask, got shape {mask.shape}.")
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode_mask(rle: dict) -> np.ndarray:
    """Decode a dict from `encode_mask` back to a `(H, W)` bool mask."""
    try:
        size = [int(rle["size"][0]), int(rle["size"][1])]
        counts = rle["counts"]
    except (KeyError, TypeError, IndexError, ValueError):
        raise ValueError(f"not a COCO RLE dict {{'size': [H, W], 'counts': str}}: {str(rle)[:120]}") from None
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return coco_mask.decode({"size": size, "counts": counts}).astype(bool)


def mask_area(rle: dict) -> int:
    """Number of foreground pixels, without decoding."""
    return int(coco_mask.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))


def mask_bbox(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight `x1, y1, x2, y2` pixel box of a `(H, W)` bool mask (x2/y2 exclusive); None when empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return None
    return float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)
