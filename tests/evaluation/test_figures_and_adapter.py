"""The report figure is written, and the Predictor adapter speaks the Predictor API (a stand-in predictor here)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
from hand_made import Oracle, filled
from PIL import Image

from model.evaluation import ColourHistogramBaseline, evaluate, predictor_predict_fn, write_report_figures


def test_write_report_figures_png(two_class_dataset, tmp_path):
    report = evaluate(Oracle(two_class_dataset), two_class_dataset, runs=1, max_examples=2, progress=False)
    json.dumps(report)  # the report is JSON-safe, examples included
    assert len(report["examples"]) == 2 and report["examples"][0]["predictions"][0]["mask"]["size"] == [
        64,
        64,
    ]
    baseline = evaluate(ColourHistogramBaseline(), two_class_dataset, runs=1, progress=False)
    example = baseline["examples"][0]
    assert example["num_predictions"] == 20 and len(example["predictions"]) == 10, "examples keep the best 10"
    out = write_report_figures(
        report, two_class_dataset, tmp_path / "figs" / "eval.png", compare={"baseline": baseline}
    )
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 500 and image.height > 200


@dataclass
class _Instance:
    box: np.ndarray
    score: float
    mask: np.ndarray


class _Embedding:
    def __init__(self, boxes):
        self.boxes = boxes

    @classmethod
    def mean(cls, parts):
        return cls(np.concatenate([p.boxes for p in parts]))


class _StandInPredictor:
    """Implements the documented Predictor API with fixed outputs and call counts."""

    def __init__(self):
        self.encoded_images = 0
        self.last_find = None

    def encode_image(self, image):
        self.encoded_images += 1
        return image.shape[:2]

    def encode_references(self, image, boxes):
        assert boxes.shape[1] == 4
        return _Embedding(boxes)

    def find(self, query, reference, score_threshold, nms_threshold, max_instances):
        self.last_find = (len(reference.boxes), score_threshold, nms_threshold, max_instances)
        return [_Instance(np.array([1, 2, 3, 4]), 0.9, filled((1, 2, 3, 4)))]


def test_adapter_reuses_the_query_encoding_and_averages_k_references():
    predictor = _StandInPredictor()
    predict = predictor_predict_fn(predictor, score_threshold=0.5)
    query = np.zeros((64, 64, 3), np.uint8)
    reference = np.ones((64, 64, 3), np.uint8)
    (prediction,) = predict(query, reference, np.array([[0, 0, 8, 8]]))
    predict(query, [reference, reference], np.array([[0, 0, 8, 8], [1, 1, 9, 9]]))
    assert predictor.encoded_images == 1, "the same query array is encoded once"
    assert predictor.last_find == (2, 0.5, 0.5, 100)
    assert prediction.box.dtype == np.float32 and prediction.mask.dtype == bool and prediction.score == 0.9
    predict(query.copy(), reference, np.array([[0, 0, 8, 8]]))
    assert predictor.encoded_images == 2


@pytest.mark.slow
def test_adapter_over_the_tiny_predictor(two_class_dataset):
    predictor_module = pytest.importorskip("model.predictor", reason="model/predictor.py has not landed yet")
    predictor = predictor_module.Predictor.from_preset("tiny")
    report = evaluate(
        predictor_predict_fn(predictor, score_threshold=0.0),
        two_class_dataset,
        runs=1,
        max_images=1,
        progress=False,
    )
    assert report["num_queries"] == 2
    assert 0.0 <= report["box_ap50"]["mean"] <= 1.0
