"""The five losses of Siamese Mask R-CNN, pure TensorFlow functions (each tested alone).

Names follow `<stage>_<what>_loss`. Every loss is a mean over the entries it applies to, and 0 when there are none.
"""

from __future__ import annotations

import tensorflow as tf


def _safe_mean(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    weights = tf.cast(weights, values.dtype)
    return tf.reduce_sum(values * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def smooth_l1(diff: tf.Tensor) -> tf.Tensor:
    """Elementwise smooth-L1 with a knee at 1 (matterport's)."""
    diff = tf.abs(diff)
    return tf.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5)


def rpn_class_loss(match: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Objectness cross-entropy over the sampled anchors.

    Args:
        match: [B, A] in {1 positive, -1 negative, 0 ignored}; logits: [B, A, 2] (background, object).
    """
    labels = tf.cast(tf.equal(match, 1), tf.int32)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))
    return _safe_mean(losses, tf.not_equal(match, 0))


def rpn_bbox_loss(match: tf.Tensor, target_deltas: tf.Tensor, deltas: tf.Tensor) -> tf.Tensor:
    """Smooth-L1 of the RPN deltas on positive anchors. match [B, A]; target_deltas, deltas [B, A, 4]."""
    per_anchor = tf.reduce_sum(smooth_l1(target_deltas - tf.cast(deltas, tf.float32)), axis=-1)
    return _safe_mean(per_anchor, tf.equal(match, 1))


def mrcnn_class_loss(labels: tf.Tensor, logits: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Match / no-match cross-entropy over sampled ROIs (padding has weight 0).

    Args:
        labels: [B, R] int (1 match); logits: [B, R, 2]; weights: [B, R].
    """
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))
    return _safe_mean(losses, weights)


def mrcnn_bbox_loss(labels: tf.Tensor, target_deltas: tf.Tensor, deltas: tf.Tensor) -> tf.Tensor:
    """Smooth-L1 of the head's deltas on positive ROIs. labels [B, R]; target_deltas, deltas [B, R, 4]."""
    per_roi = tf.reduce_sum(smooth_l1(target_deltas - tf.cast(deltas, tf.float32)), axis=-1)
    return _safe_mean(per_roi, tf.equal(labels, 1))


def mrcnn_mask_loss(labels: tf.Tensor, target_masks: tf.Tensor, mask_logits: tf.Tensor) -> tf.Tensor:
    """Binary cross-entropy of the masks of positive ROIs. labels [B, R]; masks and logits [B, R, s, s]."""
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=target_masks, logits=tf.cast(mask_logits, tf.float32))
    return _safe_mean(tf.reduce_mean(losses, axis=[2, 3]), tf.equal(labels, 1))


def l2_regularization(weights: list, decay: float) -> tf.Tensor:
    """matterport's per-element L2: sum over kernels of decay * sum(w^2) / size(w) (BN gamma/beta excluded)."""
    terms = [decay * tf.reduce_sum(tf.square(w)) / tf.cast(tf.size(w), tf.float32) for w in weights]
    return tf.add_n(terms) if terms else tf.constant(0.0)
