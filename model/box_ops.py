"""Pure box functions: coding, IoU, coordinate conversions. NumPy versions for data code, TF for the graph.

Conventions: inside the network boxes are `(y1, x1, y2, x2)`, normalised with matterport's rule
`(px - [0, 0, 1, 1]) / (size - 1)`; deltas are `(dy, dx, log dh, log dw)` relative to the box centre and size,
divided by a per-coordinate standard deviation. The public API uses `(x1, y1, x2, y2)` pixels.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def encode_boxes(boxes: tf.Tensor, targets: tf.Tensor, std: tuple[float, ...]) -> tf.Tensor:
    """Deltas that turn `boxes` into `targets`.

    Args:
        boxes, targets: [..., 4] `(y1, x1, y2, x2)`, same coordinate system.
        std: 4 divisors applied to the deltas.
    Returns:
        [..., 4] `(dy, dx, log dh, log dw) / std`.
    """
    boxes = tf.cast(boxes, tf.float32)
    targets = tf.cast(targets, tf.float32)
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    cy = boxes[..., 0] + 0.5 * h
    cx = boxes[..., 1] + 0.5 * w
    th = targets[..., 2] - targets[..., 0]
    tw = targets[..., 3] - targets[..., 1]
    tcy = targets[..., 0] + 0.5 * th
    tcx = targets[..., 1] + 0.5 * tw
    eps = 1e-8
    deltas = tf.stack(
        [
            (tcy - cy) / (h + eps),
            (tcx - cx) / (w + eps),
            tf.math.log((th + eps) / (h + eps)),
            tf.math.log((tw + eps) / (w + eps)),
        ],
        axis=-1,
    )
    return deltas / tf.constant(std, tf.float32)


def decode_boxes(boxes: tf.Tensor, deltas: tf.Tensor, std: tuple[float, ...]) -> tf.Tensor:
    """Inverse of `encode_boxes`: apply `deltas * std` to `boxes` ([..., 4] each)."""
    deltas = tf.cast(deltas, tf.float32) * tf.constant(std, tf.float32)
    boxes = tf.cast(boxes, tf.float32)
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    cy = boxes[..., 0] + 0.5 * h + deltas[..., 0] * h
    cx = boxes[..., 1] + 0.5 * w + deltas[..., 1] * w
    # Clamp log-scale deltas so an untrained head cannot overflow exp().
    h = h * tf.exp(tf.minimum(deltas[..., 2], _MAX_LOG_SCALE))
    w = w * tf.exp(tf.minimum(deltas[..., 3], _MAX_LOG_SCALE))
    return tf.stack([cy - 0.5 * h, cx - 0.5 * w, cy + 0.5 * h, cx + 0.5 * w], axis=-1)


_MAX_LOG_SCALE = float(np.log(1000.0 / 16))


def clip_boxes(boxes: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """Clip [..., 4] boxes to `window` `(y1, x1, y2, x2)` (broadcastable to boxes)."""
    window = tf.cast(window, tf.float32)
    y1 = tf.clip_by_value(boxes[..., 0], window[..., 0], window[..., 2])
    x1 = tf.clip_by_value(boxes[..., 1], window[..., 1], window[..., 3])
    y2 = tf.clip_by_value(boxes[..., 2], window[..., 0], window[..., 2])
    x2 = tf.clip_by_value(boxes[..., 3], window[..., 1], window[..., 3])
    return tf.stack([y1, x1, y2, x2], axis=-1)


def pairwise_iou(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """IoU of every box of `a` [N, 4] with every box of `b` [M, 4] -> [N, M] (any consistent corner format)."""
    a = tf.cast(a, tf.float32)[:, None, :]
    b = tf.cast(b, tf.float32)[None, :, :]
    y1 = tf.maximum(a[..., 0], b[..., 0])
    x1 = tf.maximum(a[..., 1], b[..., 1])
    y2 = tf.minimum(a[..., 2], b[..., 2])
    x2 = tf.minimum(a[..., 3], b[..., 3])
    inter = tf.maximum(y2 - y1, 0.0) * tf.maximum(x2 - x1, 0.0)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / tf.maximum(area_a + area_b - inter, 1e-9)


# --- NumPy helpers for data code -------------------------------------------------------------------------


def iou_matrix_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NumPy twin of `pairwise_iou`: [N, 4] x [M, 4] -> [N, M]."""
    a = np.asarray(a, np.float64)[:, None, :]
    b = np.asarray(b, np.float64)[None, :, :]
    inter_h = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    inter_w = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = inter_h * inter_w
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def encode_boxes_np(boxes: np.ndarray, targets: np.ndarray, std: tuple[float, ...]) -> np.ndarray:
    """NumPy twin of `encode_boxes`, for targets computed in the data pipeline."""
    boxes = np.asarray(boxes, np.float32)
    targets = np.asarray(targets, np.float32)
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    th = targets[..., 2] - targets[..., 0]
    tw = targets[..., 3] - targets[..., 1]
    dy = (targets[..., 0] + 0.5 * th - boxes[..., 0] - 0.5 * h) / h
    dx = (targets[..., 1] + 0.5 * tw - boxes[..., 1] - 0.5 * w) / w
    deltas = np.stack([dy, dx, np.log(th / h), np.log(tw / w)], axis=-1)
    return (deltas / np.asarray(std, np.float32)).astype(np.float32)


def normalize_boxes(boxes_px: np.ndarray, size: int) -> np.ndarray:
    """`(y1, x1, y2, x2)` pixels of a `size`-square input -> normalised (matterport's `norm_boxes`)."""
    scale = np.float32(size - 1)
    return ((np.asarray(boxes_px, np.float32) - np.array([0, 0, 1, 1], np.float32)) / scale).astype(np.float32)


def denormalize_boxes(boxes: np.ndarray, size: int) -> np.ndarray:
    """Inverse of `normalize_boxes` (float pixels, not rounded)."""
    return np.asarray(boxes, np.float32) * np.float32(size - 1) + np.array([0, 0, 1, 1], np.float32)


def xyxy_to_yxyx(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, np.float32)
    return boxes[..., [1, 0, 3, 2]]


yxyx_to_xyxy = xyxy_to_yxyx  # the swap is its own inverse
