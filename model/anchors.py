"""Anchors of the region proposal network, matterport's layout (pure NumPy).

Order: level-major (P2..P6), then position row-major, then ratio. This order matches the channel layout of the
RPN outputs (per location: one anchor per ratio). Anchors are centred at `(y * stride, x * stride)` with no
half-stride offset, as in the paper's code, so the released weights see the anchors they were trained with.
"""

from __future__ import annotations

import numpy as np

from model.box_ops import normalize_boxes


def level_anchors(scale: float, ratios: tuple[float, ...], feature_size: int, stride: int) -> np.ndarray:
    """Anchors of one pyramid level.

    Args:
        scale: side of the square anchor in pixels; ratio r = w / h gives h = scale / sqrt(r), w = scale * sqrt(r).
        ratios: aspect ratios (width / height).
        feature_size: the level's feature map side (square input).
        stride: pixels per feature cell.
    Returns:
        [feature_size * feature_size * len(ratios), 4] `(y1, x1, y2, x2)` pixels.
    """
    ratios_arr = np.asarray(ratios, np.float64)
    heights = scale / np.sqrt(ratios_arr)
    widths = scale * np.sqrt(ratios_arr)
    shifts = np.arange(feature_size, dtype=np.float64) * stride
    cy, cx = np.meshgrid(shifts, shifts, indexing="ij")  # row-major positions
    cy = cy.reshape(-1, 1)
    cx = cx.reshape(-1, 1)
    boxes = np.stack(
        [cy - 0.5 * heights, cx - 0.5 * widths, cy + 0.5 * heights, cx + 0.5 * widths], axis=-1
    )  # [positions, ratios, 4]
    return boxes.reshape(-1, 4)


def pyramid_anchors(
    image_size: int,
    scales: tuple[float, ...],
    ratios: tuple[float, ...],
    strides: tuple[int, ...],
) -> np.ndarray:
    """All anchors for a square `image_size` input, normalised: [A, 4] float32 `(y1, x1, y2, x2)`.

    A = len(ratios) * sum((image_size / stride)^2) over the levels.
    """
    levels = []
    for scale, stride in zip(scales, strides, strict=True):
        feature_size = int(np.ceil(image_size / stride))
        levels.append(level_anchors(scale, ratios, feature_size, stride))
    return normalize_boxes(np.concatenate(levels, axis=0), image_size)
