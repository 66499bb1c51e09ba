"""A mask as its runs of foreground pixels in row-major order, found on the mask's content box only.

Both run-length formats the service writes are built from these runs: COCO RLE for transport
(`common.masks`, column-major: the runs of the transposed mask) and Label Studio's brush RLE
(`common.brush_rle`, row-major). An object covers a small part of its image, so every per-pixel operation here
runs on the crop to the mask's bounding box (`common.mask_crop.MaskCrop`). Given a `MaskCrop`, nothing reads the
rest of the image; given a full `(H, W)` array, only the two `any` reductions that find the box read every pixel.
"""

from __future__ import annotations

import numpy as np

from common.mask_crop import MaskCrop, as_mask_crop

__all__ = ["alternating_counts", "counts_to_runs", "foreground_runs", "resampled_runs"]

_EMPTY = np.zeros(0, np.int64)


def foreground_runs(mask: np.ndarray | MaskCrop) -> tuple[np.ndarray, np.ndarray]:
    """The maximal runs of True in `mask.ravel(order="C")`, without flattening the mask.

    Args:
        mask: `(H, W)` bool, any memory layout (a transposed view gives the column-major runs), or its `MaskCrop`.

    Returns:
        `(starts, ends)`: two `(R,)` int64 arrays of flat row-major indices into the `H * W` pixels, sorted,
        half-open (`ends[i]` is one past the last pixel of run i) and maximal (`ends[i] < starts[i + 1]`); a run
        may continue from the end of one row into the next. Empty for an empty mask.
    """
    boxed = as_mask_crop(mask)
    if not boxed.any():
        return _EMPTY, _EMPTY
    row, start, end = _row_runs(boxed.crop)
    base = (row + boxed.top) * boxed.width + boxed.left
    starts, ends = base + start, base + end
    # A run that ends on the right edge of the image and one that starts on the left edge of the next row
    # meet at the same flat index: they are one run.
    return _join_touching(starts, ends)


def _row_runs(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(row, start, end)` of every maximal run of True in each row of a `(h, w)` bool crop, sorted by row then
    start; `end` is exclusive."""
    # Each row is followed by one background pixel, and the whole by a leading one: in this flat buffer every run
    # starts and ends inside its row, so the changes alternate start, end, start, end ...
    height, width = crop.shape
    stride = width + 1
    buffer = np.zeros(1 + height * stride, np.int8)
    buffer[1:].reshape(height, stride)[:, :width] = crop
    change = np.flatnonzero(buffer[1:] != buffer[:-1])  # pixel i of the padded crop differs from pixel i - 1
    row, col = np.divmod(change, stride)
    return row[0::2], col[0::2], col[1::2]


def _span(samples: np.ndarray, first: int, last: int) -> tuple[int, int]:
    """`[start, stop)` of the targets whose non-decreasing source index `samples` lies in `[first, last]`."""
    return int(np.searchsorted(samples, first, side="left")), int(np.searchsorted(samples, last, side="right"))


def resampled_runs(mask: np.ndarray | MaskCrop, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The foreground runs of `mask` resized to `(height, width)` by nearest neighbour, without making that mask.

    Target pixel `(r, c)` takes source pixel `(int(r * h / height), int(c * w / width))`. Each target row repeats
    the runs of the source row it samples, with their ends moved to target columns, so the cost grows with the
    target's rows times the runs per row, not with its pixels: a mask decoded at half a photo's size becomes the
    photo's brush without a 12-megapixel intermediate.

    Args:
        mask: `(h, w)` bool, or its `MaskCrop`.
        height, width: the target size.

    Returns:
        `(starts, ends)` as `foreground_runs(resized mask)` returns them: flat row-major indices of the target.
    """
    boxed = as_mask_crop(mask)
    if boxed.shape == (height, width):
        return foreground_runs(boxed)
    if not boxed.any() or height == 0 or width == 0:
        return _EMPTY, _EMPTY
    top, left = boxed.top, boxed.left
    bottom = top + boxed.crop.shape[0] - 1  # the last row with foreground
    source_rows = (np.arange(height) * boxed.height / height).astype(np.int64)
    source_cols = (np.arange(width) * boxed.width / width).astype(np.int64)
    r0, r1 = _span(source_rows, top, bottom)
    if r1 <= r0:
        return _EMPTY, _EMPTY
    run_row, run_start, run_end = _row_runs(boxed.crop)
    # A source run [s, e) covers the target columns whose source column lies in it.
    target_start = np.searchsorted(source_cols, run_start + left, side="left")
    target_end = np.searchsorted(source_cols, run_end + left, side="left")
    kept = target_end > target_start  # a run narrower than the sampling step may be skipped by every column
    run_row, target_start, target_end = run_row[kept], target_start[kept], target_end[kept]
    first_run = np.searchsorted(run_row, np.arange(bottom - top + 1), side="left")
    runs_per_row = np.bincount(run_row, minlength=bottom - top + 1)
    target_rows = np.arange(r0, r1)
    sampled = source_rows[target_rows] - top
    counts = runs_per_row[sampled]
    total = int(counts.sum())
    if total == 0:
        return _EMPTY, _EMPTY
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.repeat(first_run[sampled], counts) + offsets
    row_base = np.repeat(target_rows * width, counts)
    return _join_touching(row_base + target_start[index], row_base + target_end[index])


def _join_touching(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint runs with every pair where one ends where the next starts made one."""
    joined = ends[:-1] == starts[1:]
    if joined.any():
        starts = starts[np.concatenate(([True], ~joined))]
        ends = ends[np.concatenate((~joined, [True]))]
    return starts, ends


def alternating_counts(starts: np.ndarray, ends: np.ndarray, total: int) -> np.ndarray:
    """Run lengths alternating background, foreground, background ... over `total` pixels (COCO's `counts`).

    Args:
        starts, ends: `(R,)` maximal foreground runs from `foreground_runs`.
        total: number of pixels (`H * W`).

    Returns:
        `(C,)` int64 lengths summing to `total`. The first (background) length is 0 when the first pixel is
        foreground; no other length is 0, and there is no trailing 0, as pycocotools writes them.
    """
    bounds = np.empty(2 * len(starts) + 2, np.int64)
    bounds[0], bounds[-1] = 0, total
    bounds[1:-1:2], bounds[2:-1:2] = starts, ends
    counts = np.diff(bounds)
    if len(counts) > 1 and counts[-1] == 0:
        counts = counts[:-1]  # the last run is foreground up to the last pixel
    return counts


def counts_to_runs(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The foreground runs of alternating background, foreground ... lengths (the inverse of `alternating_counts`).

    Args:
        counts: `(C,)` non-negative lengths, background first.

    Returns:
        `(starts, ends)` as `foreground_runs` gives them: sorted, half-open, maximal (empty foreground runs are
        dropped, and runs separated by an empty background run are one).
    """
    bounds = np.cumsum(np.asarray(counts, np.int64))
    pairs = len(bounds) // 2
    starts, ends = bounds[0 : 2 * pairs : 2], bounds[1 : 2 * pairs : 2]
    kept = ends > starts
    return _join_touching(starts[kept], ends[kept])
