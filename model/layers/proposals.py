"""Proposal layer: best anchors by objectness, refined by the RPN deltas, then non-maximum suppression."""

from __future__ import annotations

import tensorflow as tf

from model.box_ops import clip_boxes, decode_boxes


def propose(
    scores: tf.Tensor,
    deltas: tf.Tensor,
    anchors: tf.Tensor,
    *,
    pre_nms_limit: int,
    post_nms_count: int,
    nms_threshold: float,
    bbox_std: tuple[float, ...],
) -> tuple[tf.Tensor, tf.Tensor]:
    """Region proposals.

    Args:
        scores: [B, A] object probability of every anchor.
        deltas: [B, A, 4] RPN deltas (divided by `bbox_std`).
        anchors: [A, 4] normalised `(y1, x1, y2, x2)`.
        pre_nms_limit: anchors kept by score before NMS (6000 in the paper).
        post_nms_count: proposals returned per image (zero-padded).
        nms_threshold: IoU above which a lower-scoring proposal is suppressed (0.7).
    Returns:
        boxes [B, post_nms_count, 4] normalised, clipped to [0, 1]; valid [B, post_nms_count] bool.
    """
    k = min(pre_nms_limit, int(anchors.shape[0]))
    top_scores, top_idx = tf.math.top_k(scores, k=k, sorted=True)
    top_deltas = tf.gather(deltas, top_idx, batch_dims=1)
    top_anchors = tf.gather(anchors, top_idx)
    boxes = decode_boxes(top_anchors, top_deltas, bbox_std)
    boxes = clip_boxes(boxes, tf.constant([0.0, 0.0, 1.0, 1.0]))

    def one_image(args):
        image_boxes, image_scores = args
        keep = tf.image.non_max_suppression(image_boxes, image_scores, post_nms_count, nms_threshold)
        kept = tf.gather(image_boxes, keep)
        pad = post_nms_count - tf.shape(kept)[0]
        valid = tf.concat([tf.ones_like(keep, tf.bool), tf.zeros([pad], tf.bool)], axis=0)
        return tf.pad(kept, [[0, pad], [0, 0]]), valid

    boxes, valid = tf.map_fn(
        one_image,
        (boxes, top_scores),
        fn_output_signature=(
            tf.TensorSpec([post_nms_count, 4], tf.float32),
            tf.TensorSpec([post_nms_count], tf.bool),
        ),
    )
    return boxes, valid
