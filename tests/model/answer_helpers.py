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
