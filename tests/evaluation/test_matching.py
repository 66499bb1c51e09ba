"""Box IoU, NMS and the one-reference recall/precision on hand cases."""

from __future__ import annotations

import numpy as np
import pytest

from model.evaluation.matching import box_iou, closest_box, match_query, nms, precision_recall_at


def test_box_iou_hand_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0, 0.0]], rtol=1e-6)
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_nms_keeps_best_of_overlapping():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [1, 2]


def test_recall_and_precision_of_one_query():
    targets = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]], np.float32)
    predictions = np.array(
        [
            [0, 0, 10, 10],  # hit
            [1, 0, 11, 10],  # duplicate of the first target: a false positive
            [40, 0, 48, 10],  # hit (IoU 0.8)
            [70, 70, 80, 80],  # miss
        ],
        np.float32,
    )
    outcome = match_query(predictions, [0.9, 0.8, 0.7, 0.6], targets)
    assert outcome.is_hit.tolist() == [True, False, True, False]
    assert outcome.recall == pytest.approx(2 / 3)
    assert outcome.precision == pytest.approx(2 / 4)
    # Raising the score threshold keeps a prefix: at 0.85 one of one returned is right, one of three found.
    assert precision_recall_at([outcome], 0.85) == (pytest.approx(1 / 3), pytest.approx(1.0))


def test_mean_over_queries_skips_empty_queries_for_precision():
    found = match_query(np.array([[0, 0, 10, 10]]), [0.9], np.array([[0, 0, 10, 10]]))
    empty = match_query(np.zeros((0, 4)), [], np.array([[0, 0, 10, 10], [20, 0, 30, 10]]))
    assert empty.precision is None and empty.recall == 0.0
    recall, precision = precision_recall_at([found, empty], -np.inf)
    assert recall == pytest.approx(0.5) and precision == pytest.approx(1.0)
    assert precision_recall_at([empty], -np.inf) == (0.0, None)


def test_low_overlap_is_not_a_hit():
    outcome = match_query(np.array([[0, 0, 10, 10]]), [1.0], np.array([[4, 0, 14, 10]]))  # IoU 6/14
    assert not outcome.is_hit.any()


def test_closest_box_takes_the_highest_iou_then_the_better_score_then_the_lower_index():
    assert closest_box([0.6, 0.9, 0.7], [0.9, 0.1, 0.99]) == 1  # overlap first, whatever the score
    assert closest_box([0.8, 0.8, 0.3], [0.4, 0.7, 0.99]) == 1  # a tie on overlap goes to the better score
    assert closest_box([0.8, 0.8], [0.5, 0.5]) == 0  # then to the lower index
    assert closest_box([0.49, 0.2], [0.9, 0.9]) is None  # under MATCH_IOU: no box is the object
    assert closest_box([0.49, 0.2], [0.9, 0.9], min_iou=0.4) == 0
    assert closest_box([], []) is None
