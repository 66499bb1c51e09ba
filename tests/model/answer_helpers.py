"""Helpers of the answering tests: thresholds that keep everything, a configured copy of a predictor, hand-made
instances, and scores as comparable lists."""

from __future__ import annotations

import numpy as np

from model.answering import AnswerThresholds

EVERYTHING = AnswerThresholds(0.0, 0.5, 50)
"""Keep every suggestion (score 0), NMS at 0.5, up to 50."""


def with_config(predictor, **config):
    """A predictor over the same network whose config has `config` changed."""
    from model.predictor import Predictor

    other = Predictor(predictor.model, version="configured")
    other.config = predictor.config.replace(**config)
    return other


def instance(box, score):
    """An `Instance` with box `box` (xyxy pixels), `score` and an empty 4x4 mask."""
    from model.predictor import Instance

    return Instance(np.asarray(box, np.float32), float(score), np.zeros((4, 4), bool))


def scores(instances):
    """Scores (of instances or plain numbers) rounded to 6 digits, in order."""
    return [round(float(getattr(i, "score", i)), 6) for i in instances]


def assert_cut_property(predictor, image, query, reference, boxes, **exemplars):
    """`find_for_drawn_boxes` at a threshold is its answer at a lower one cut there (the effort sweeps answer once at
    the lowest threshold and count at each), checked at two cuts; `exemplars`: its `others` / `own`."""
    from model.answering import find_for_drawn_boxes

    low = find_for_drawn_boxes(predictor, image, query, reference, EVERYTHING, boxes, **exemplars)
    found = sorted({i.score for i in low}, reverse=True)
    assert len(found) >= 2
    for cut in ((found[0] + found[1]) / 2, (found[-1] + found[-2]) / 2):
        high = find_for_drawn_boxes(predictor, image, query, reference, AnswerThresholds(cut, 0.5, 50), boxes,
                                    **exemplars)
        assert scores(high) == scores([i for i in low if i.score >= cut])


def drawn_in_scene(predictor, scene, index: int, **config):
    """A box drawn on the scene's bank suggestion `index`, answered by `predictor` with `config` changed and the
    reference gate off: `(configured predictor, its encoded reference, boxes (1, 4) xyxy pixels)`."""
    image, _, _, first = scene
    configured = with_config(predictor, detection_reference_gate=0.0, **config)
    boxes = first[index].box[None].astype(np.float32)
    return configured, configured.encode_references(image, boxes), boxes
