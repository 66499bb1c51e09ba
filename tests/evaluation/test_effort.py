"""The simulated annotator's bookkeeping on hand-made answers with known counts (model/evaluation/effort.py)."""

from __future__ import annotations

import numpy as np
import pytest

from model.evaluation.effort import EffortSummary, SuggestionKind, Suggestions, count_trial, mask_iou

# Four instances of "cup" in a 100 x 100 image, and one "plate".
CUPS = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], np.float32)
PLATE = np.array([[0, 50, 20, 70]], np.float32)
SIZE = 100


def filled(box) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    x1, y1, x2, y2 = (int(v) for v in box)
    mask[y1:y2, x1:x2] = True
    return mask


def shifted(box, dx: float) -> np.ndarray:
    return np.asarray(box, np.float32) + np.array([dx, 0, dx, 0], np.float32)


def answer(*items, masks: bool = False) -> Suggestions:
    """`(box, score[, label])` items."""
    boxes = np.array([item[0] for item in items], np.float32).reshape(-1, 4)
    scores = np.array([item[1] for item in items], np.float64)
    labels = tuple(item[2] if len(item) > 2 else "cup" for item in items)
    return Suggestions(boxes, scores, [filled(b) for b in boxes] if masks else None, labels)


def test_a_perfect_answer_costs_the_reference_alone():
    perfect = answer(*[(box, 0.9) for box in CUPS], masks=True)
    counts = count_trial("cup", CUPS, 1, perfect, gt_masks=[filled(b) for b in CUPS])
    assert (counts.references, counts.dropped, counts.right, counts.deletions, counts.misses) == (1, 1, 3, 0, 0)
    assert counts.kinds[1] is SuggestionKind.REFERENCE and counts.mask_ious == (1.0, 1.0, 1.0)
    summary = EffortSummary.of([counts])
    assert summary.effort == summary.floor == 0.25
    assert summary.errors_per_instance == 0 and summary.recall == summary.precision == 1.0


def test_reference_dropped_duplicate_and_wrong_label_deleted_miss_counted_once():
    suggestions = answer(
        (CUPS[0], 0.99),                    # the reference itself: dropped
        (shifted(CUPS[0], 1), 0.95),        # a second copy of the reference: a duplicate, deleted
        (CUPS[1], 0.9),                     # right
        (shifted(CUPS[1], 1), 0.8),         # a duplicate of a right one: deleted
        (CUPS[2], 0.7, "plate"),            # on a cup but labelled plate: deleted, and the cup stays missed
        (PLATE[0], 0.6),                    # on the plate: deleted
        (np.array([80, 80, 95, 95]), 0.5),  # on nothing: deleted
    )
    counts = count_trial("cup", CUPS, 0, suggestions, other_boxes=PLATE)
    assert counts.instances == 4 and counts.references == 1 and counts.suggestions == 7
    assert (counts.dropped, counts.right, counts.deletions, counts.misses) == (1, 1, 5, 2)
    assert counts.missed == (2, 3)  # cup 2 (only a wrong label on it) and cup 3, each once
    assert counts.kinds == (SuggestionKind.REFERENCE, SuggestionKind.DUPLICATE, SuggestionKind.RIGHT,
                            SuggestionKind.DUPLICATE, SuggestionKind.WRONG_LABEL, SuggestionKind.OTHER_CLASS,
                            SuggestionKind.BACKGROUND)
    assert counts.deletions_by_kind() == {"duplicate": 2, "wrong label": 1, "other class": 1, "background": 1}
    summary = EffortSummary.of([counts])
    assert summary.effort == pytest.approx((1 + 5 + 2) / 4)
    assert summary.errors_per_instance == pytest.approx(7 / 4)
    assert summary.recall == pytest.approx(1 / 3) and summary.precision == pytest.approx(1 / 6)
    assert summary.mean_mask_iou is None  # no masks given: not reported


def test_only_the_best_overlap_with_the_reference_is_dropped():
    closest, near = CUPS[0], shifted(CUPS[0], 2)
    counts = count_trial("cup", CUPS, 0, answer((near, 0.99), (closest, 0.5)))
    assert counts.kinds == (SuggestionKind.DUPLICATE, SuggestionKind.REFERENCE)
    assert counts.dropped == 1 and counts.deletions == 1 and counts.misses == 3


def test_nothing_is_dropped_when_no_suggestion_is_the_reference():
    counts = count_trial("cup", CUPS, 0, answer((CUPS[1], 0.9)))
    assert (counts.dropped, counts.right, counts.deletions, counts.misses) == (0, 1, 0, 2)
    assert EffortSummary.of([counts]).precision == 1.0


def test_greedy_matching_goes_best_score_first():
    # Both suggestions overlap cup 1 at IoU >= 0.5; the better-scored one takes it, the other is a duplicate.
    better, worse = shifted(CUPS[1], 2), shifted(CUPS[1], 1)
    counts = count_trial("cup", CUPS, 0, answer((worse, 0.6), (better, 0.9)))
    assert counts.kinds == (SuggestionKind.DUPLICATE, SuggestionKind.RIGHT) and counts.matched[1] == 1


def test_bank_mode_has_no_reference_and_drops_nothing():
    counts = count_trial("cup", CUPS, None, answer((CUPS[0], 0.9), (CUPS[1], 0.8), (PLATE[0], 0.7)),
                         other_boxes=PLATE)
    assert (counts.references, counts.dropped, counts.right, counts.deletions, counts.misses) == (0, 0, 2, 1, 2)
    summary = EffortSummary.of([counts])
    assert summary.floor == 0 and summary.effort == summary.errors_per_instance == pytest.approx(3 / 4)
    assert summary.recall == 0.5 and summary.precision == pytest.approx(2 / 3)


def test_an_empty_answer_leaves_every_other_instance_to_draw():
    counts = count_trial("cup", CUPS, 3, Suggestions.empty())
    assert (counts.dropped, counts.right, counts.deletions, counts.misses) == (0, 0, 0, 3)
    summary = EffortSummary.of([counts])
    assert summary.effort == 1.0 and summary.precision is None and summary.recall == 0


def test_figures_are_ratios_of_sums_not_means_of_ratios():
    two = count_trial("cup", CUPS[:2], 0, answer((CUPS[0], 1.0), (CUPS[1], 0.9)))        # 2 instances, perfect
    four = count_trial("cup", CUPS, 0, answer((CUPS[0], 1.0), (PLATE[0], 0.9)), seconds=2.0)  # 4, all wrong
    summary = EffortSummary.of([two, four])
    assert summary.instances == 6 and summary.references == 2
    assert summary.effort == pytest.approx((2 + 1 + 3) / 6)  # not the mean of 0.5 and 1.25
    assert summary.recall == pytest.approx(1 / 4) and summary.precision == pytest.approx(1 / 2)
    assert summary.seconds == (2.0,) and summary.seconds_median == 2.0


def test_mask_iou_of_right_suggestions_and_of_unknown_ground_truth_masks():
    half = filled(CUPS[1])
    half[:, 25:] = False  # the suggestion's mask covers half of cup 1
    suggestions = Suggestions(CUPS[[1, 2]], np.array([0.9, 0.8]), [half, filled(CUPS[2])])
    counts = count_trial("cup", CUPS, 0, suggestions, gt_masks=[None, filled(CUPS[1]), None, None])
    assert counts.right == 2 and counts.mask_ious == (0.5,)  # cup 2's mask is unknown: not counted
    assert mask_iou(filled(CUPS[0]), filled(CUPS[0])) == 1.0 and mask_iou(half & False, half & False) == 0.0


def test_a_threshold_keeps_the_suggestions_scoring_at_least_it():
    suggestions = answer((CUPS[0], 0.9), (CUPS[1], 0.5), (CUPS[2], 0.7))
    kept = suggestions.at_least(0.7)
    assert kept.scores.tolist() == [0.9, 0.7] and kept.labels == ("cup", "cup")
    assert suggestions.at_least(None) is suggestions


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="reference_index 4"):
        count_trial("cup", CUPS, 4, Suggestions.empty())
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        Suggestions(CUPS[:2], np.array([0.5]))
    with pytest.raises(ValueError, match="must be the image's"):
        mask_iou(np.zeros((2, 2), bool), np.zeros((3, 3), bool))
