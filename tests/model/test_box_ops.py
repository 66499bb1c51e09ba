import numpy as np
import pytest
import tensorflow as tf

from model import box_ops

STD = (0.1, 0.1, 0.2, 0.2)


def test_encode_decode_round_trip(rng):
    boxes = rng.uniform(0, 0.5, (50, 4)).astype(np.float32)
    boxes[:, 2:] = boxes[:, :2] + rng.uniform(0.01, 0.5, (50, 2))
    targets = rng.uniform(0, 0.5, (50, 4)).astype(np.float32)
    targets[:, 2:] = targets[:, :2] + rng.uniform(0.01, 0.5, (50, 2))
    deltas = box_ops.encode_boxes(boxes, targets, STD)
    back = box_ops.decode_boxes(boxes, deltas, STD).numpy()
    np.testing.assert_allclose(back, targets, atol=1e-5)


def test_numpy_and_tf_encoding_agree(rng):
    boxes = np.array([[0.1, 0.1, 0.3, 0.4]], np.float32)
    targets = np.array([[0.12, 0.05, 0.35, 0.5]], np.float32)
    np.testing.assert_allclose(
        box_ops.encode_boxes_np(boxes, targets, STD), box_ops.encode_boxes(boxes, targets, STD).numpy(), atol=1e-5
    )


def test_known_delta_values():
    # Target shifted by half the box height and twice as wide.
    deltas = box_ops.encode_boxes([[0.0, 0.0, 1.0, 1.0]], [[0.5, -0.5, 1.5, 1.5]], (1, 1, 1, 1)).numpy()[0]
    np.testing.assert_allclose(deltas, [0.5, 0.0, 0.0, np.log(2.0)], atol=1e-6)


def test_decode_clamps_huge_scale():
    out = box_ops.decode_boxes([[0.4, 0.4, 0.6, 0.6]], [[0.0, 0.0, 1e6, 1e6]], STD).numpy()
    assert np.isfinite(out).all()


def test_pairwise_iou_hand_values():
    a = tf.constant([[0.0, 0.0, 2.0, 2.0]])
    b = tf.constant([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    np.testing.assert_allclose(box_ops.pairwise_iou(a, b).numpy(), [[1 / 7, 1.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(box_ops.iou_matrix_np(a.numpy(), b.numpy()), [[1 / 7, 1.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("size", [128, 512, 1024])
def test_normalize_round_trip(size):
    px = np.array([[0, 0, size, size], [10, 20, 30, 40]], np.float32)
    np.testing.assert_allclose(box_ops.denormalize_boxes(box_ops.normalize_boxes(px, size), size), px, atol=1e-3)
    # matterport's convention: the full image maps to [0, 0, 1, 1].
    np.testing.assert_allclose(box_ops.normalize_boxes(px[:1], size), [[0, 0, 1, 1]], atol=1e-6)


def test_clip_boxes():
    out = box_ops.clip_boxes(tf.constant([[-0.1, 0.2, 1.3, 0.5]]), tf.constant([0.0, 0.1, 1.0, 0.4])).numpy()
    np.testing.assert_allclose(out, [[0.0, 0.2, 1.0, 0.4]], atol=1e-6)
