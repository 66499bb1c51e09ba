"""When unsure, suggest less: an answer that does not find its own reference object is withdrawn."""

from __future__ import annotations

import numpy as np

from model.answering import reference_gate

REFERENCE = np.array([[10, 10, 50, 40]], np.float32)


def test_an_answer_stands_when_the_reference_object_comes_back_confidently():
    found = np.array([[11, 10, 50, 41], [100, 100, 140, 130]], np.float32)
    assert reference_gate(found, np.array([0.85, 0.6]), REFERENCE, gate=0.8)


def test_an_answer_falls_when_the_reference_comes_back_weakly_or_not_at_all():
    found = np.array([[11, 10, 50, 41], [100, 100, 140, 130]], np.float32)
    assert not reference_gate(found, np.array([0.75, 0.99]), REFERENCE, gate=0.8)  # a confident other is not it
    assert not reference_gate(found[1:], np.array([0.99]), REFERENCE, gate=0.8)
    assert not reference_gate(np.zeros((0, 4)), np.zeros(0), REFERENCE, gate=0.8)


def test_every_drawn_reference_must_come_back():
    references = np.array([[10, 10, 50, 40], [200, 200, 240, 230]], np.float32)
    one = np.array([[10, 10, 50, 40]], np.float32)
    both = np.array([[10, 10, 50, 40], [201, 200, 240, 231]], np.float32)
    assert not reference_gate(one, np.array([0.9]), references, gate=0.8)
    assert reference_gate(both, np.array([0.9, 0.95]), references, gate=0.8)


def test_the_gate_applies_on_the_worker_path(tiny_predictor):
    """find_for_drawn_boxes (the interactive job's and the effort measure's answer) returns nothing when the gate
    refuses, and the same answer as without the gate when it passes."""
    from model.answering import AnswerThresholds, find_for_drawn_boxes
    from model.predictor import Predictor

    image = np.random.default_rng(0).integers(0, 255, (150, 220, 3), dtype=np.uint8)
    box = np.array([[20, 30, 60, 90]], np.float32)
    thresholds = AnswerThresholds(0.0, 0.5, 10)
    query = tiny_predictor.encode_image(image)
    reference = tiny_predictor.encode_references(image, box)
    plain = find_for_drawn_boxes(tiny_predictor, image, query, reference, thresholds, box)
    strict = Predictor(tiny_predictor.model, version="gated")
    strict.config = tiny_predictor.config.replace(detection_reference_gate=1.0)  # nothing scores 1.0 exactly
    assert plain and find_for_drawn_boxes(strict, image, query, reference, thresholds, box) == []
    lenient = Predictor(tiny_predictor.model, version="gated")
    lenient.config = tiny_predictor.config.replace(detection_reference_gate=1e-9)
    passed = find_for_drawn_boxes(lenient, image, query, reference, thresholds, box)
    if reference_gate(np.stack([i.box for i in plain]), np.array([i.score for i in plain]), box, 1e-9):
        assert [i.score for i in passed] == [i.score for i in plain]


def _noise_image_answer_inputs(predictor):
    """(image, drawn box (1, 4) xyxy, encoded query, reference) on a noise image the tiny network answers 3+ times."""
    image = np.random.default_rng(1).integers(0, 255, (150, 220, 3), dtype=np.uint8)
    box = np.array([[20, 30, 60, 90]], np.float32)
    return image, box, predictor.encode_image(image), predictor.encode_references(image, box)


def test_an_answer_at_a_threshold_is_a_lower_thresholds_answer_cut_there(tiny_predictor):
    """The gate judges the drawn object's own score even under the threshold, so the service's answer at t equals
    the answer at a lower threshold keeping the suggestions scoring >= t (what the effort sweeps count). Here the
    drawn object comes back third, under the threshold, and above the gate: the answer stands."""
    from model.answering import AnswerThresholds, find_for_drawn_boxes
    from model.predictor import Predictor

    image, box, query, reference = _noise_image_answer_inputs(tiny_predictor)
    everything = AnswerThresholds(0.0, 0.5, 50)
    low = find_for_drawn_boxes(tiny_predictor, image, query, reference, everything, box)
    assert len(low) >= 3 and low[1].score > low[2].score > 0
    drawn = low[2].box[None]  # the gate's view: the drawn object is the third suggestion
    gated = Predictor(tiny_predictor.model, version="gated")
    gated.config = tiny_predictor.config.replace(detection_reference_gate=low[2].score * 0.9)
    cut = (low[1].score + low[2].score) / 2
    high = find_for_drawn_boxes(gated, image, query, reference, AnswerThresholds(cut, 0.5, 50), drawn)
    wide = find_for_drawn_boxes(gated, image, query, reference, everything, drawn)
    assert [i.score for i in high] == [i.score for i in wide if i.score >= cut] == [i.score for i in low[:2]]


def test_confident_copies_skip_the_drawn_object_and_weak_ones():
    from model.answering import confident_copies

    found = np.array([[11, 10, 50, 41], [100, 100, 140, 130], [200, 10, 240, 40], [300, 10, 340, 40]], np.float32)
    scores = np.array([0.99, 0.95, 0.7, 0.92])
    copies = confident_copies(found, scores, REFERENCE, min_score=0.9, count=4)
    assert copies.tolist() == found[[1, 3]].tolist()
    assert confident_copies(found, scores, REFERENCE, min_score=0.9, count=1).tolist() == found[[1]].tolist()
    assert confident_copies(found, scores, REFERENCE, min_score=0.999, count=4).shape == (0, 4)


def test_query_expansion_answers_again_with_the_copies_as_references(tiny_predictor):
    """With detection_expand_score on, the answer is the one found with the drawn box and the first answer's
    confident copies pooled as a K-shot reference; off, the first answer."""
    from model.answering import AnswerThresholds, expanded_reference, find_for_drawn_boxes
    from model.predictor import Predictor

    image, box, query, reference = _noise_image_answer_inputs(tiny_predictor)
    everything = AnswerThresholds(0.0, 0.5, 50)
    first = find_for_drawn_boxes(tiny_predictor, image, query, reference, everything, box)
    expanding = Predictor(tiny_predictor.model, version="expanding")
    min_score = first[1].score * 0.99  # the best two are confident copies
    expanding.config = tiny_predictor.config.replace(detection_expand_score=min_score, detection_expand_count=4)
    pooled = expanded_reference(tiny_predictor, image, reference, box, first, min_score, 4)
    assert pooled.count == 3
    expected = tiny_predictor.find(query, pooled, score_threshold=0.0, nms_threshold=0.5, max_instances=50,
                                   reference_boxes=box)
    second = find_for_drawn_boxes(expanding, image, query, reference, everything, box)
    assert [i.score for i in second] == [i.score for i in expected]
    assert [i.score for i in second] != [i.score for i in first]
