import numpy as np
import tensorflow as tf

from model.layers.detection import detect
from model.layers.proposals import propose

STD = (0.1, 0.1, 0.2, 0.2)


def _detect(rois, probs, score=0.7, nms=0.5, valid=None, max_instances=5, window=(0, 0, 1, 1)):
    rois = tf.constant([rois], tf.float32)
    n = rois.shape[1]
    valid = tf.constant([valid if valid is not None else [True] * n])
    return detect(
        rois, valid, tf.constant([probs], tf.float32), tf.zeros([1, n, 4]), tf.constant([window], tf.float32),
        tf.constant(score), tf.constant(nms), max_instances=max_instances, bbox_std=STD,
    ).numpy()[0]


def test_nms_removes_duplicates_and_keeps_separate_objects():
    rois = [[0.1, 0.1, 0.3, 0.3], [0.11, 0.1, 0.31, 0.3], [0.6, 0.6, 0.8, 0.8]]
    out = _detect(rois, [0.9, 0.8, 0.75])
    kept = out[out[:, 5] > 0]
    assert len(kept) == 2
    np.testing.assert_allclose(kept[:, 5], [0.9, 0.75], atol=1e-6)  # best first
    np.testing.assert_allclose(kept[0, :4], rois[0], atol=1e-6)
    assert np.all(kept[:, 4] == 1)
    assert np.all(out[2:] == 0)  # zero padding


def test_score_threshold_and_padding_validity():
    rois = [[0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.8, 0.8], [0.4, 0.4, 0.5, 0.5]]
    out = _detect(rois, [0.69, 0.95, 0.99], valid=[True, True, False])
    kept = out[out[:, 5] > 0]
    assert len(kept) == 1 and np.isclose(kept[0, 5], 0.95)
    out = _detect(rois, [0.69, 0.95, 0.99], score=0.5, valid=[True, True, False])
    assert (out[:, 5] > 0).sum() == 2


def test_boxes_clipped_to_window():
    out = _detect([[0.0, 0.0, 0.9, 0.9]], [0.9], window=(0.2, 0.1, 0.8, 0.7))
    np.testing.assert_allclose(out[0, :4], [0.2, 0.1, 0.8, 0.7], atol=1e-6)


def test_proposals_are_sorted_suppressed_and_padded():
    anchors = tf.constant([[0.1, 0.1, 0.3, 0.3], [0.1, 0.1, 0.3, 0.31], [0.5, 0.5, 0.9, 0.9], [0, 0, 0.05, 0.05]])
    scores = tf.constant([[0.5, 0.9, 0.7, 0.1]])
    boxes, valid = propose(scores, tf.zeros([1, 4, 4]), anchors, pre_nms_limit=3, post_nms_count=4,
                           nms_threshold=0.7, bbox_std=STD)
    boxes, valid = boxes.numpy()[0], valid.numpy()[0]
    np.testing.assert_array_equal(valid, [True, True, False, False])  # 3 kept by top-k, 1 suppressed
    np.testing.assert_allclose(boxes[0], [0.1, 0.1, 0.3, 0.31], atol=1e-6)
    np.testing.assert_allclose(boxes[1], [0.5, 0.5, 0.9, 0.9], atol=1e-6)
    assert np.all(boxes[2:] == 0)
