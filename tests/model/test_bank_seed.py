"""Batch pre-annotation seeded in the image (`model.answering.seeded_bank_answer`): the exemplar bank finds the
kind, its best suggestion answers again as a box drawn in the image."""

from __future__ import annotations

import numpy as np
import pytest
from answer_helpers import EVERYTHING
from answer_helpers import instance as _instance
from answer_helpers import scores as _scores
from answer_helpers import with_config as _with

from model.answering import (
    AnswerThresholds,
    find_for_drawn_boxes,
    find_for_labels,
    seeded_bank_answer,
)


def test_the_best_bank_suggestion_is_answered_again_as_a_drawn_box(tiny_predictor, scene):
    image, query, reference, first = scene
    seeding = _with(tiny_predictor, detection_reference_gate=0.0)
    seed = first[0].box[None].astype(np.float32)
    expected = find_for_drawn_boxes(seeding, image, query, seeding.encode_references(image, seed), EVERYTHING, seed)
    got = seeded_bank_answer(seeding, image, query, reference, EVERYTHING, seed_score=first[0].score * 0.99)
    assert _scores(got) == _scores(expected)
    assert _scores(got) != _scores(first)


def test_a_weak_best_suggestion_seeds_nothing(tiny_predictor, scene):
    image, query, reference, first = scene
    got = seeded_bank_answer(tiny_predictor, image, query, reference, EVERYTHING, seed_score=first[0].score + 1e-3)
    assert _scores(got) == _scores(first)


def test_when_the_gate_withdraws_the_seeded_answer_the_bank_answer_stands(tiny_predictor, scene):
    image, query, reference, first = scene
    refusing = _with(tiny_predictor, detection_reference_gate=1.0)  # nothing scores 1.0: the seed never stands
    got = seeded_bank_answer(refusing, image, query, reference, EVERYTHING, seed_score=1e-6)
    assert _scores(got) == _scores(first)


def test_capped_scores_never_exceed_the_seeds_bank_score(tiny_predictor, scene):
    image, query, reference, first = scene
    seeding = _with(tiny_predictor, detection_reference_gate=0.0)
    got = seeded_bank_answer(seeding, image, query, reference, EVERYTHING, seed_score=1e-6, cap=True)
    uncapped = seeded_bank_answer(seeding, image, query, reference, EVERYTHING, seed_score=1e-6)
    assert got and max(i.score for i in got) <= first[0].score
    assert [i.box.tolist() for i in got] == [i.box.tolist() for i in uncapped]
    assert _scores(got) == _scores([min(i.score, first[0].score) for i in uncapped])


@pytest.mark.parametrize("cap", [False, True])
def test_an_answer_at_a_threshold_is_a_lower_thresholds_answer_cut_there(tiny_predictor, scene, cap):
    """The effort sweeps answer once at the lowest threshold and count at each: seeding must not depend on it."""
    image, query, reference, first = scene
    seeding = _with(tiny_predictor, detection_reference_gate=0.0)
    seed_score = 1e-6 if cap else first[0].score * 0.99
    low = seeded_bank_answer(seeding, image, query, reference, EVERYTHING, seed_score, cap=cap)
    scores = sorted({i.score for i in low}, reverse=True)
    assert len(scores) >= 2
    # between the second answer's best two; and above its best but under the bank's best (nothing to show there:
    # the bank's answer must not come back in its place)
    for cut in ((scores[0] + scores[1]) / 2, (scores[0] + first[0].score) / 2):
        high = seeded_bank_answer(seeding, image, query, reference, AnswerThresholds(cut, 0.5, 50), seed_score,
                                  cap=cap)
        assert _scores(high) == _scores([i for i in low if i.score >= cut])


def test_find_for_labels_seeds_only_when_the_model_says_so_and_the_image_is_given(tiny_predictor, scene):
    image, query, reference, first = scene
    off = find_for_labels(tiny_predictor, query, {"cell": [reference]}, EVERYTHING, image=image)
    assert _scores(off["cell"]) == _scores(first)
    seeding = _with(tiny_predictor, detection_bank_seed=first[0].score * 0.99, detection_reference_gate=0.0)
    on = find_for_labels(seeding, query, {"cell": [reference]}, EVERYTHING, image=image)
    expected = seeded_bank_answer(seeding, image, query, reference, EVERYTHING, first[0].score * 0.99)
    assert _scores(on["cell"]) == _scores(expected) != _scores(first)
    without_image = find_for_labels(seeding, query, {"cell": [reference]}, EVERYTHING)
    assert _scores(without_image["cell"]) == _scores(first)


def test_one_label_per_object_keeps_the_better_label_where_two_overlap():
    from model.answering import one_label_per_object

    found = {
        "person": [_instance([0, 0, 10, 20], 0.9), _instance([50, 0, 60, 20], 0.6)],
        "chair": [_instance([51, 1, 60, 21], 0.8), _instance([1, 0, 10, 20], 0.7), _instance([100, 0, 110, 9], 0.5)],
    }
    kept = one_label_per_object(found, 0.5)
    assert list(kept) == ["person", "chair"]
    assert [i.score for i in kept["person"]] == [0.9]  # its 0.6 box is the chair's 0.8 object
    assert [i.score for i in kept["chair"]] == [0.8, 0.5]  # its 0.7 box is the person's 0.9 object


def test_one_label_per_object_never_joins_boxes_that_do_not_touch():
    from model.answering import one_label_per_object

    found = {"a": [_instance([0, 0, 10, 10], 0.9)], "b": [_instance([50, 50, 60, 60], 0.8)]}
    kept = one_label_per_object(found, 0.0)  # an NMS threshold of 0 still needs some overlap
    assert [i.score for i in kept["a"]] == [0.9] and [i.score for i in kept["b"]] == [0.8]


def test_one_label_per_object_leaves_one_labels_own_overlaps_and_empty_answers_alone():
    from model.answering import one_label_per_object

    same = {"cell": [_instance([0, 0, 10, 10], 0.9), _instance([1, 0, 10, 10], 0.8)], "dust": []}
    kept = one_label_per_object(same, 0.5)
    assert [i.score for i in kept["cell"]] == [0.9, 0.8] and kept["dust"] == []
    assert one_label_per_object({"a": [], "b": []}, 0.5) == {"a": [], "b": []}


def test_one_label_per_object_cut_at_a_threshold_is_the_cut_of_the_whole_answer():
    from model.answering import one_label_per_object

    rng = np.random.default_rng(0)
    found = {label: sorted((_instance(np.r_[xy, xy + 12], s) for xy, s in
                            zip(rng.integers(0, 30, (8, 2)), rng.random(8), strict=True)), key=lambda i: -i.score)
             for label in ("a", "b", "c")}
    whole = one_label_per_object(found, 0.3)
    for cut in (0.2, 0.5, 0.8):
        high = one_label_per_object({k: [i for i in v if i.score >= cut] for k, v in found.items()}, 0.3)
        assert {k: [i.score for i in v] for k, v in high.items()} == \
            {k: [i.score for i in v if i.score >= cut] for k, v in whole.items()}
    assert sum(map(len, whole.values())) < sum(map(len, found.values()))


def test_find_for_labels_gives_each_object_one_label_when_the_model_says_so(tiny_predictor, scene):
    """Two labels with the same exemplar find the same objects; with `detection_one_label` each goes to one."""
    image, query, reference, first = scene
    both = {"cell": [reference], "twin": [reference]}
    plain = find_for_labels(tiny_predictor, query, both, EVERYTHING, image=image)
    assert _scores(plain["cell"]) == _scores(plain["twin"]) == _scores(first)
    exclusive = find_for_labels(_with(tiny_predictor, detection_one_label=True), query, both, EVERYTHING, image=image)
    assert _scores(exclusive["cell"]) == _scores(first) and exclusive["twin"] == []


def test_a_version_whose_bank_does_not_pay_pre_annotates_nothing(tiny_predictor, scene):
    image, query, reference, first = scene
    labels = {"cell": [reference], "dust": [reference]}
    silent = find_for_labels(_with(tiny_predictor, detection_bank_answers=False), query, labels, EVERYTHING, image=image)
    assert silent == {"cell": [], "dust": []}
    assert _scores(find_for_labels(tiny_predictor, query, labels, EVERYTHING, image=image)["cell"]) == _scores(first)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_a_seed_score_outside_0_1_is_refused(tiny_predictor, value):
    with pytest.raises(ValueError, match="detection_bank_seed"):
        tiny_predictor.config.replace(detection_bank_seed=value)
