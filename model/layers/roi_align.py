"""Pyramid ROIAlign: crop every box from the pyramid level that fits its size (the paper's sampling)."""

from __future__ import annotations

import tensorflow as tf

CANONICAL_ROI_SIZE = 224.0  # an ROI of this many pixels maps to level 4 (Feature Pyramid Networks paper)
CANONICAL_LEVEL = 4
MIN_LEVEL, MAX_LEVEL = 2, 5


def roi_levels(boxes: tf.Tensor, image_size: int) -> tf.Tensor:
    """Pyramid level (2..5) of each box: clip(4 + round(log2(sqrt(h*w) / (224 / image_size))), 2, 5).

    Args:
        boxes: [..., 4] normalised `(y1, x1, y2, x2)`.
        image_size: side of the padded square input in pixels.
    Returns:
        int32 [...] levels.
    """
    h = boxes[..., 2] - boxes[..., 0]
    w = boxes[..., 3] - boxes[..., 1]
    area = tf.maximum(h * w, 1e-12)
    level = tf.math.log(tf.sqrt(area) / (CANONICAL_ROI_SIZE / image_size)) / tf.math.log(2.0)
    level = CANONICAL_LEVEL + tf.cast(tf.round(level), tf.int32)
    return tf.clip_by_value(level, MIN_LEVEL, MAX_LEVEL)


def pyramid_roi_align(feature_maps: list, boxes: tf.Tensor, pool_size: int, image_size: int) -> tf.Tensor:
    """Pool [B, N] boxes from levels P2..P5.

    Uses `tf.image.crop_and_resize` (one bilinear sample per output cell, normalised boxes with the (H - 1)
    convention), which is what the released weights were trained with. No gradient flows into the boxes.

    Args:
        feature_maps: [P2, P3, P4, P5], each [B, h, w, C].
        boxes: [B, N, 4] normalised `(y1, x1, y2, x2)`.
        pool_size: output side (7 for the classifier, 14 for the mask head).
        image_size: padded input side, for the level rule.
    Returns:
        [B, N, pool_size, pool_size, C].
    """
    boxes = tf.stop_gradient(tf.cast(boxes, tf.float32))
    levels = roi_levels(boxes, image_size)
    shape = tf.shape(boxes)
    channels = feature_maps[0].shape[-1]
    out_shape = tf.stack([shape[0], shape[1], pool_size, pool_size, channels])
    pooled = tf.zeros(out_shape, feature_maps[0].dtype)
    for level, feature_map in zip(range(MIN_LEVEL, MAX_LEVEL + 1), feature_maps, strict=True):
        indices = tf.where(tf.equal(levels, level))  # [n, 2] (image, box)
        level_boxes = tf.gather_nd(boxes, indices)
        crops = tf.image.crop_and_resize(
            feature_map, level_boxes, tf.cast(indices[:, 0], tf.int32), (pool_size, pool_size)
        )
        pooled = tf.tensor_scatter_nd_update(pooled, indices, tf.cast(crops, pooled.dtype))
    return pooled
