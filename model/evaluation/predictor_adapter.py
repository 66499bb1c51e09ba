"""Turns a `model.predictor.Predictor` into the evaluator's `PredictFn` (duck-typed: nothing imported here).

The Predictor API (docs/design.md): `encode_image(image)`, `encode_references(image, boxes)`,
`ReferenceEmbedding.mean([...])`, `find(query, reference, score_threshold, nms_threshold, max_instances)` returning
`Instance(box, score, mask)`.
"""

from __future__ import annotations

import numpy as np

from model.evaluation.predictions import PredictFn, Prediction, ReferenceImages

__all__ = ["PAPER_MAX_INSTANCES", "PAPER_NMS_THRESHOLD", "PAPER_SCORE_THRESHOLD", "predictor_predict_fn"]

PAPER_SCORE_THRESHOLD = 0.7
"""DETECTION_MIN_CONFIDENCE of the paper's evaluation."""
PAPER_NMS_THRESHOLD = 0.5
PAPER_MAX_INSTANCES = 100
"""DETECTION_MAX_INSTANCES of the large (paper) config."""


def predictor_predict_fn(
    predictor,
    *,
    score_threshold: float = PAPER_SCORE_THRESHOLD,
    nms_threshold: float = PAPER_NMS_THRESHOLD,
    max_instances: int = PAPER_MAX_INSTANCES,
) -> PredictFn:
    """Wrap a Predictor so `evaluate` (and anything else taking a `PredictFn`) can call it.

    The query encoding is reused while the same query array is passed again (the protocol queries one image once
    per active category). K references from K images are encoded one by one and averaged with
    `ReferenceEmbedding.mean`, as the model does for K-shot.

    Returns:
        `predict(query (H, W, 3) uint8, reference image(s), reference_boxes (K, 4) xyxy pixels)` -> list of
        `Prediction(box (4,) float32 xyxy pixels, score, mask (H, W) bool)`, best first.
    """
    last: dict = {"image": None, "encoded": None}

    def predict(query_image: np.ndarray, reference_image: ReferenceImages, reference_boxes: np.ndarray):
        if last["image"] is not query_image:
            last["image"], last["encoded"] = query_image, predictor.encode_image(query_image)
        boxes = np.asarray(reference_boxes, dtype=np.float32).reshape(-1, 4)
        if isinstance(reference_image, np.ndarray):
            reference = predictor.encode_references(reference_image, boxes)
        else:
            parts = [
                predictor.encode_references(image, box[None])
                for image, box in zip(reference_image, boxes, strict=True)
            ]
            reference = type(parts[0]).mean(parts)
        instances = predictor.find(
            last["encoded"],
            reference,
            score_threshold=score_threshold,
            nms_threshold=nms_threshold,
            max_instances=max_instances,
        )
        return [
            Prediction(np.asarray(i.box, dtype=np.float32), float(i.score), np.asarray(i.mask, dtype=bool))
            for i in instances
        ]

    return predict
