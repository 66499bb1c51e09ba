"""Detection layer: refine the ROIs with the head's deltas, keep confident matches, suppress duplicates."""

from __future__ import annotations

import tensorflow as tf

from model.box_ops import clip_boxes, decode_boxes


def detect(
    rois: tf.Tensor,
    valid: tf.Tensor,
    match_probs: tf.Tensor,
    deltas: tf.Tensor,
    window: tf.Tensor,
    score_threshold: tf.Tensor,
    nms_threshold: tf.Tensor,
    *,
    max_instances: int,
    bbox_std: tuple[float, ...],
) -> tf.Tensor:
    """Final detections per image.

    The paper keeps ROIs whose argmax class is "match" with probability >= 0.7, then runs NMS at 0.5; for
    thresholds >= 0.5 "score >= threshold" is the same rule, and a lower threshold simply returns more.

    Args:
        rois: [B, N, 4] normalised proposals; valid: [B, N] bool (False for padding).
        match_probs: [B, N] probability of "match"; deltas: [B, N, 4] head deltas.
        window: [B, 4] normalised region of the real image inside the padded input.
        score_threshold, nms_threshold: scalar float tensors (runtime values: no retracing when they change).
        max_instances: detections returned per image (static; zero-padded).
    Returns:
        [B, max_instances, 6]: `(y1, x1, y2, x2, class_id, score)` normalised, class_id 1, best first; padding
        rows are all zero.
    """
    boxes = clip_boxes(decode_boxes(rois, deltas, bbox_std), window[:, None, :])
    scores = tf.where(valid, match_probs, tf.zeros_like(match_probs))

    def one_image(args):
        image_boxes, image_scores = args
        keep, kept_scores = tf.image.non_max_suppression_with_scores(
            image_boxes,
            image_scores,
            max_output_size=max_instances,
            iou_threshold=nms_threshold,
            score_threshold=tf.maximum(score_threshold, 1e-6),
        )
        kept = tf.gather(image_boxes, keep)
        rows = tf.concat([kept, tf.ones_like(kept[:, :1]), kept_scores[:, None]], axis=1)
        return tf.pad(rows, [[0, max_instances - tf.shape(rows)[0]], [0, 0]])

    return tf.map_fn(
        one_image, (boxes, scores), fn_output_signature=tf.TensorSpec([max_instances, 6], tf.float32)
    )
