"""The contract between the evaluator and whatever predicts: `PredictFn` and its `Prediction`s.

The evaluator never imports the model: it calls a plain function, so it can be tested on hand-made predictions and
run on the trivial baseline or on `model.predictor.Predictor` (through `predictor_predict_fn`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["PredictFn", "Prediction", "ReferenceImages", "as_predictions"]


class Prediction(NamedTuple):
    """One found instance.

    Attributes:
        box: `(4,)` float32 `x1, y1, x2, y2` pixels in the query image.
        score: confidence; higher is better.
        mask: `(H, W)` bool at the query image's resolution.
    """

    box: np.ndarray
    score: float
    mask: np.ndarray


ReferenceImages = np.ndarray | Sequence[np.ndarray]
"""K = 1 or all K references in one image: one `(h, w, 3)` uint8 array. K references from K images: a sequence of K
arrays, box k of `reference_boxes` belonging to image k."""

PredictFn = Callable[[np.ndarray, ReferenceImages, np.ndarray], Iterable]
"""`predict(query_image (H, W, 3) uint8, reference_image(s), reference_boxes (K, 4) float xyxy pixels)` -> iterable of
`(box (4,) xyxy pixels, score, mask (H, W) bool)` tuples or `Prediction`s, in any order."""


def as_predictions(raw: Iterable, height: int, width: int) -> list[Prediction]:
    """Check and normalise a predict function's output; sorted best first.

    Raises:
        ValueError: a box is not 4 finite numbers or a mask does not have the query's `(height, width)`.
    """
    predictions = []
    for item in raw:
        box, score, mask = item
        box = np.asarray(box, dtype=np.float32).reshape(-1)
        mask = np.asarray(mask).astype(bool, copy=False)
        if box.shape != (4,) or not np.all(np.isfinite(box)):
            raise ValueError(
                f"a prediction's box must be 4 finite numbers x1, y1, x2, y2 in pixels, got {box}"
            )
        if mask.shape != (height, width):
            raise ValueError(
                f"a prediction's mask has shape {mask.shape}; it must match the query image {(height, width)}"
            )
        predictions.append(Prediction(box, float(score), mask))
    predictions.sort(key=lambda p: -p.score)
    return predictions
