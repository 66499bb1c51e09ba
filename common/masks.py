"""Masks across process boundaries: COCO run-length encoding (compressed, as pycocotools writes it).

Format: `{"size": [H, W], "counts": str}`. `counts` is pycocotools' compressed string decoded as ASCII, so
the dict is JSON-safe. A full-resolution 4000x3000 blob mask is a few hundred bytes instead of 12 MB.

`encode_mask` finds the runs on the mask's bounding box (`common.mask_runs`; given a `MaskCrop`, on its crop without
reading the rest) and lets pycocotools compress them: the same string as `pycocotools.mask.encode`, without its
column-major copy of the whole image. `decode_mask_crop` reads the string in numpy and paints only the mask's
bounding box, which it returns as a `MaskCrop`; `decode_mask` places that in a zeroed image: the same mask as
`pycocotools.mask.decode`, in row-major order.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from common.mask_crop import MaskCrop, as_mask_crop
from common.mask_runs import alternating_counts, counts_to_runs, foreground_runs

__all__ = ["decode_mask", "decode_mask_crop", "encode_mask", "mask_area", "mask_bbox"]


def encode_mask(mask: np.ndarray | MaskCrop) -> dict:
    """Encode a `(H, W)` bool (or 0/1 integer) mask, or its `MaskCrop`, as a JSON-safe COCO RLE dict."""
    boxed = as_mask_crop(mask)
    height, width = boxed.shape
    # COCO counts run down the columns: the row-major runs of the transposed crop (a view, no copy).
    starts, ends = foreground_runs(boxed.transposed())
    counts = alternating_counts(starts, ends, height * width)
    rle = coco_mask.frPyObjects({"size": [height, width], "counts": counts.tolist()}, height, width)
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


_CHAR_OFFSET = 48
"""pycocotools writes each 5-bit group as the character `48 + group`."""
_GROUP_BITS = 5
_MORE = 0x20
"""Set in every character of a number but its last."""
_SIGN = 0x10
"""Set in the last character of a negative number."""
_MAX_GROUPS = 12
"""More 5-bit groups than this would not fit in int64: not a string pycocotools wrote."""


def _string_counts(string: bytes) -> np.ndarray:
    """pycocotools' compressed `counts` string -> `(C,)` int64 run lengths (its `rleFrString`, vectorised).

    Each number is little-endian 5-bit groups, sign-extended from its last group; from the fourth number on,
    each is stored as the difference to the number two places before it.
    """
    chars = np.frombuffer(string, np.uint8).astype(np.int64) - _CHAR_OFFSET
    if chars.size == 0:
        return chars
    if chars.min() < 0 or chars.max() >= 2 * _MORE:
        raise ValueError("not a pycocotools counts string: a character outside '0'..'o'")
    last = np.flatnonzero((chars & _MORE) == 0)
    if last.size == 0 or last[-1] != chars.size - 1:
        raise ValueError("not a pycocotools counts string: it ends inside a number")
    first = np.concatenate(([0], last[:-1] + 1))
    group = np.arange(chars.size) - np.repeat(first, last - first + 1)
    if group.max() >= _MAX_GROUPS:
        raise ValueError("not a pycocotools counts string: a number of more than 60 bits")
    numbers = np.add.reduceat((chars & (_MORE - 1)) << (_GROUP_BITS * group), first)
    negative = (chars[last] & _SIGN) != 0
    numbers[negative] -= np.int64(1) << (_GROUP_BITS * (group[last][negative] + 1))
    counts = numbers.copy()
    counts[1::2] = np.cumsum(numbers[1::2])  # counts[3] = numbers[3] + counts[1], ...
    counts[2::2] = np.cumsum(numbers[2::2])  # counts[4] = numbers[4] + counts[2], ...
    return counts


def _paint_column_runs(starts: np.ndarray, ends: np.ndarray, height: int, width: int) -> MaskCrop:
    """The `MaskCrop` of a `(height, width)` mask given as runs over its column-major pixels (`counts_to_runs`)."""
    if starts.size == 0:
        return MaskCrop.empty(height, width)
    # Cut runs at column ends: one vertical segment [row_start, row_end) per run and column it covers.
    first_col, last_col = starts // height, (ends - 1) // height
    pieces = last_col - first_col + 1
    run = np.repeat(np.arange(starts.size), pieces)
    col = first_col[run] + np.arange(run.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    row_start = np.maximum(starts[run] - col * height, 0)
    row_end = np.minimum(ends[run] - col * height, height)
    top, bottom, left, right = int(row_start.min()), int(row_end.max()), int(col[0]), int(col[-1]) + 1
    # +1 where a segment starts, -1 one past its end, summed down each column of the box. Segments of one
    # column are disjoint and never touch (runs are maximal), so no two marks share a cell.
    marks = np.zeros((bottom - top + 1, right - left), np.int8)
    marks[row_start - top, col - left] = 1
    marks[row_end - top, col - left] = -1
    # Every run is non-empty, so the box's edges hold foreground: it is the content box MaskCrop promises.
    return MaskCrop(np.cumsum(marks[:-1], axis=0, dtype=np.int8) > 0, top, left, height, width)


def decode_mask_crop(rle: dict) -> MaskCrop:
    """Decode a dict from `encode_mask` to the `MaskCrop` of its mask, without making the whole mask.

    Raises:
        ValueError: not a COCO RLE dict, or counts that are malformed or do not cover `H * W` pixels.
    """
    try:
        height, width = int(rle["size"][0]), int(rle["size"][1])
        counts = rle["counts"]
        string = counts.encode("ascii") if isinstance(counts, str) else counts
        if not isinstance(string, bytes):
            raise TypeError
    except (KeyError, TypeError, IndexError, ValueError, UnicodeEncodeError):
        raise ValueError(f"not a COCO RLE dict {{'size': [H, W], 'counts': str}}: {str(rle)[:120]}") from None
    lengths = _string_counts(string)
    if height < 0 or width < 0 or (lengths < 0).any() or int(lengths.sum()) != height * width:
        raise ValueError(f"COCO RLE counts do not cover a {height}x{width} mask: {str(rle)[:120]}")
    return _paint_column_runs(*counts_to_runs(lengths), height, width)


def decode_mask(rle: dict) -> np.ndarray:
    """Decode a dict from `encode_mask` back to a `(H, W)` bool mask (C order).

    Raises:
        ValueError: not a COCO RLE dict, or counts that are malformed or do not cover `H * W` pixels.
    """
    return decode_mask_crop(rle).full()


def mask_area(rle: dict) -> int:
    """Number of foreground pixels, without decoding."""
    return int(coco_mask.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))


def mask_bbox(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """Tight `x1, y1, x2, y2` pixel box of a `(H, W)` bool mask (x2/y2 exclusive); None when empty."""
    boxed = MaskCrop.of(mask)
    if not boxed.any():
        return None
    height, width = boxed.crop.shape
    return float(boxed.left), float(boxed.top), float(boxed.left + width), float(boxed.top + height)
