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
