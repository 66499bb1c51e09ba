import numpy as np
import tensorflow as tf

from model import losses as L
from model.anchors import pyramid_anchors
from model.targets import NEGATIVE, POSITIVE, roi_targets, rpn_targets

STD = (0.1, 0.1, 0.2, 0.2)


def _anchors():
    return pyramid_anchors(128, (8, 16, 32, 64, 128), (0.5, 1.0, 2.0), (4, 8, 16, 32, 64))


def test_rpn_targets_balance_and_best_anchor(rng):
    anchors = _anchors()
    gt = np.array([[0.2, 0.2, 0.45, 0.45], [0.6, 0.1, 0.62, 0.12]], np.float32)  # one tiny object
    match, deltas = rpn_targets(anchors, gt, num_anchors=64, bbox_std=STD, rng=rng)
    positives = np.flatnonzero(match == POSITIVE)
    assert 2 <= len(positives) <= 32
    assert (match != 0).sum() == 64
    # Even the tiny object gets its best anchor.
    from model.box_ops import iou_matrix_np

    iou = iou_matrix_np(anchors[positives], gt)
    assert (iou.max(axis=0) > 0).all()
    assert np.abs(deltas[match != POSITIVE]).sum() == 0
    assert np.isfinite(deltas).all()


def test_rpn_targets_without_objects_are_all_negative(rng):
    match, _ = rpn_targets(_anchors(), np.zeros((0, 4), np.float32), num_anchors=64, bbox_std=STD, rng=rng)
    assert (match == NEGATIVE).sum() == 64 and (match == POSITIVE).sum() == 0


def test_roi_targets_sample_positives_with_right_targets():
    tf.random.set_seed(0)
    gt_boxes = tf.constant([[0.2, 0.2, 0.6, 0.6], [0, 0, 0, 0]], tf.float32)  # second row is padding
    mask = np.zeros((2, 8, 8), np.float32)
    mask[0, :, :4] = 1  # left half of the object
    proposals = tf.constant([[0.2, 0.2, 0.6, 0.6], [0.7, 0.7, 0.9, 0.9], [0.21, 0.2, 0.6, 0.62]], tf.float32)
    rois, labels, deltas, masks, weights = roi_targets(
        proposals, tf.constant([True, True, True]), gt_boxes, tf.constant(mask),
        num_rois=12, positive_ratio=0.33, bbox_std=STD, mask_size=4,
    )
    labels, masks, weights, deltas = labels.numpy(), masks.numpy(), weights.numpy(), deltas.numpy()
    positives = labels == 1
    assert positives.sum() == 3  # two proposals and the added ground-truth box
    assert weights.sum() == 4  # plus the one negative
    assert np.abs(deltas[positives]).max() < 1.0
    # The mask target of the exact ROI is the left half.
    exact = np.flatnonzero(np.all(np.isclose(rois.numpy(), [0.2, 0.2, 0.6, 0.6]), axis=1) & positives)[0]
    np.testing.assert_array_equal(masks[exact], np.tile([1, 1, 0, 0], (4, 1)))


def test_losses_are_zero_for_perfect_predictions_and_positive_otherwise():
    match = tf.constant([[1, -1, 0]])
    good = tf.constant([[[-10.0, 10.0], [10.0, -10.0], [0.0, 0.0]]])
    bad = -good
    assert L.rpn_class_loss(match, good).numpy() < 1e-6
    assert L.rpn_class_loss(match, bad).numpy() > 10
    deltas = tf.constant([[[0.1, 0.2, 0.3, 0.4], [5.0, 5, 5, 5], [0.0, 0, 0, 0]]])
    assert L.rpn_bbox_loss(match, deltas, deltas).numpy() == 0
    # Only the positive anchor counts: smooth-L1 of 1 unit = 0.5 per coordinate.
    assert np.isclose(L.rpn_bbox_loss(match, deltas, deltas + tf.constant([[[1.0, 1, 1, 1], [9, 9, 9, 9], [9, 9, 9, 9]]])), 2.0)
    labels = tf.constant([[1, 0, 0]])
    weights = tf.constant([[1.0, 1.0, 0.0]])
    assert L.mrcnn_class_loss(labels, tf.constant([[[-9.0, 9.0], [9.0, -9.0], [9.0, -9.0]]]), weights) < 1e-6
    target_masks = tf.ones([1, 3, 2, 2])
    assert L.mrcnn_mask_loss(labels, target_masks, tf.fill([1, 3, 2, 2], 20.0)).numpy() < 1e-6
    assert np.isclose(L.mrcnn_mask_loss(labels, target_masks, tf.zeros([1, 3, 2, 2])).numpy(), np.log(2), atol=1e-5)


def test_losses_are_zero_when_nothing_applies():
    assert L.rpn_bbox_loss(tf.constant([[0, -1]]), tf.ones([1, 2, 4]), tf.zeros([1, 2, 4])).numpy() == 0
    assert L.mrcnn_bbox_loss(tf.constant([[0]]), tf.ones([1, 1, 4]), tf.zeros([1, 1, 4])).numpy() == 0


def test_l2_regularization_is_per_element():
    w = tf.ones([10, 10])
    assert np.isclose(L.l2_regularization([w], 1e-4).numpy(), 1e-4)
