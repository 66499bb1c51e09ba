"""Training targets: RPN anchor labels (NumPy, in the data pipeline) and ROI targets (TensorFlow, in the graph).

Boxes are normalised `(y1, x1, y2, x2)`. Labels of anchors: 1 positive, -1 negative, 0 neutral (ignored).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from model.box_ops import encode_boxes, encode_boxes_np, iou_matrix_np, pairwise_iou

RPN_POSITIVE_IOU = 0.7
RPN_NEGATIVE_IOU = 0.3
ROI_POSITIVE_IOU = 0.5
POSITIVE, NEUTRAL, NEGATIVE = 1, 0, -1


def rpn_targets(
    anchors: np.ndarray,
    gt_boxes: np.ndarray,
    *,
    num_anchors: int,
    bbox_std: tuple[float, ...],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Which anchors are objects, and how to move them onto their object (matterport's `build_rpn_targets`).

    Args:
        anchors: [A, 4] normalised anchors; gt_boxes: [G, 4] normalised ground truth (G >= 0).
        num_anchors: anchors sampled per image (at most half positive; the rest negative).
        bbox_std: divisors of the deltas.
    Returns:
        match [A] int32 in {1, 0, -1}; deltas [A, 4] float32 (non-zero only where match == 1).
    """
    anchor_count = anchors.shape[0]
    match = np.zeros(anchor_count, np.int32)
    deltas = np.zeros((anchor_count, 4), np.float32)
    if len(gt_boxes) == 0:
        negatives = rng.choice(anchor_count, size=min(num_anchors, anchor_count), replace=False)
        match[negatives] = NEGATIVE
        return match, deltas
    iou = iou_matrix_np(anchors, gt_boxes)  # [A, G]
    best_gt = iou.argmax(axis=1)
    best_iou = iou[np.arange(anchor_count), best_gt]
    match[best_iou < RPN_NEGATIVE_IOU] = NEGATIVE
    # Every object gets its best anchors, whatever their IoU.
    best_anchor_iou = iou.max(axis=0)
    for g in range(iou.shape[1]):
        ties = np.flatnonzero(iou[:, g] == best_anchor_iou[g])
        match[ties] = POSITIVE
        best_gt[ties] = g
    match[best_iou >= RPN_POSITIVE_IOU] = POSITIVE
    positives = np.flatnonzero(match == POSITIVE)
    excess = len(positives) - num_anchors // 2
    if excess > 0:
        match[rng.choice(positives, size=excess, replace=False)] = NEUTRAL
    positives = np.flatnonzero(match == POSITIVE)
    negatives = np.flatnonzero(match == NEGATIVE)
    excess = len(negatives) - (num_anchors - len(positives))
    if excess > 0:
        match[rng.choice(negatives, size=excess, replace=False)] = NEUTRAL
    deltas[positives] = encode_boxes_np(anchors[positives], gt_boxes[best_gt[positives]], bbox_std)
    return match, deltas


def roi_targets(
    proposals: tf.Tensor,
    proposals_valid: tf.Tensor,
    gt_boxes: tf.Tensor,
    gt_masks: tf.Tensor,
    *,
    num_rois: int,
    positive_ratio: float,
    bbox_std: tuple[float, ...],
    mask_size: int,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Sample ROIs of one image and their targets (matterport's `DetectionTargetLayer`).

    Unlike the paper's code, the ground-truth boxes are added to the proposals (as in Detectron): early in
    training, or on small data, the RPN finds few positives and the heads would otherwise learn little.

    Args:
        proposals: [N, 4] normalised; proposals_valid: [N] bool.
        gt_boxes: [G, 4] normalised, rows of zeros are padding; gt_masks: [G, m, m] mini-masks (float 0/1, each
            covering its ground-truth box).
        num_rois: ROIs returned (zero-padded); positive_ratio: at most this fraction positive (0.33).
    Returns:
        rois [R, 4], labels [R] int32 (1 match, 0 no match), deltas [R, 4], masks [R, s, s] float32 in {0, 1},
        weights [R] float32 (1 for sampled ROIs, 0 for padding).
    """
    gt_valid = tf.reduce_any(tf.not_equal(gt_boxes, 0.0), axis=1)
    gt_boxes = tf.boolean_mask(gt_boxes, gt_valid)
    gt_masks = tf.boolean_mask(gt_masks, gt_valid)
    candidates = tf.concat([tf.boolean_mask(proposals, proposals_valid), gt_boxes], axis=0)

    iou = pairwise_iou(candidates, gt_boxes)  # [C, G]
    has_gt = tf.shape(gt_boxes)[0] > 0
    best_iou = tf.cond(has_gt, lambda: tf.reduce_max(iou, axis=1), lambda: tf.zeros(tf.shape(candidates)[:1]))
    best_gt = tf.cond(
        has_gt, lambda: tf.argmax(iou, axis=1, output_type=tf.int32), lambda: tf.zeros(tf.shape(candidates)[:1], tf.int32)
    )

    positive_idx = tf.random.shuffle(tf.where(best_iou >= ROI_POSITIVE_IOU)[:, 0])
    negative_idx = tf.random.shuffle(tf.where(best_iou < ROI_POSITIVE_IOU)[:, 0])
    positive_idx = positive_idx[: int(num_rois * positive_ratio)]
    positive_count = tf.shape(positive_idx)[0]
    negative_count = tf.cast(tf.cast(positive_count, tf.float32) / positive_ratio, tf.int32) - positive_count
    # An image whose references match nothing still teaches "no match": keep some negatives.
    negative_count = tf.maximum(negative_count, num_rois // 4)
    negative_idx = negative_idx[:negative_count]

    positive_rois = tf.gather(candidates, positive_idx)
    assigned = tf.gather(best_gt, positive_idx)
    assigned_boxes = tf.gather(gt_boxes, assigned)
    deltas = encode_boxes(positive_rois, assigned_boxes, bbox_std)

    # Mask targets: the part of each assigned mini-mask under its ROI, resampled to mask_size.
    gy1, gx1, gy2, gx2 = tf.unstack(assigned_boxes, axis=1)
    ry1, rx1, ry2, rx2 = tf.unstack(positive_rois, axis=1)
    gh = tf.maximum(gy2 - gy1, 1e-6)
    gw = tf.maximum(gx2 - gx1, 1e-6)
    crop_boxes = tf.stack([(ry1 - gy1) / gh, (rx1 - gx1) / gw, (ry2 - gy1) / gh, (rx2 - gx1) / gw], axis=1)
    masks = tf.image.crop_and_resize(
        tf.cast(gt_masks[..., None], tf.float32), crop_boxes, assigned, (mask_size, mask_size)
    )
    masks = tf.round(masks[..., 0])

    rois = tf.concat([positive_rois, tf.gather(candidates, negative_idx)], axis=0)
    count = tf.shape(rois)[0]
    pad = num_rois - count
    rois = tf.pad(rois, [[0, pad], [0, 0]])
    labels = tf.pad(tf.ones([positive_count], tf.int32), [[0, num_rois - positive_count]])
    deltas = tf.pad(deltas, [[0, num_rois - positive_count], [0, 0]])
    masks = tf.pad(masks, [[0, num_rois - positive_count], [0, 0], [0, 0]])
    weights = tf.pad(tf.ones([count], tf.float32), [[0, pad]])
    return rois, labels, deltas, masks, weights
