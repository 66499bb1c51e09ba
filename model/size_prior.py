"""The reference's size as a prior: objects of one kind in one photo are of similar size.

A suggestion much larger than the reference is most often a box around several objects; one much smaller, a part
of one. Both are errors an annotator has to delete, so their scores are lowered before the score threshold applies.
Only for references drawn in the query image itself: a reference from another image (the exemplar bank) says
nothing about sizes here.

Pure NumPy; tested alone (tests/model/test_size_prior.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["apply_size_prior", "reference_size", "size_weights", "within_size_cap"]


def size_weights(boxes: np.ndarray, reference_boxes: np.ndarray, tolerance: float, falloff: float) -> np.ndarray:
    """A weight in (0, 1] per box from how far its size is from the references'.

    The size of a box is the square root of its area; the references' size is the geometric mean of theirs. With
    `d = |log(size / reference size)|`, boxes within a factor `tolerance` keep weight 1, and beyond it the weight
    falls as `exp(-((d - log(tolerance)) / falloff) ** 2)`.

    Args:
        boxes: `(N, 4)` xyxy pixels; reference_boxes: `(K, 4)` xyxy pixels of the same image (K >= 1).
        tolerance: >= 1, the size factor that costs nothing; falloff: > 0, in log units.

    Returns:
        `(N,)` float32 weights.
    """
    if tolerance < 1 or falloff <= 0:
        raise ValueError(f"size prior needs tolerance >= 1 and falloff > 0, got {tolerance}, {falloff}")
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    references = np.asarray(reference_boxes, np.float64).reshape(-1, 4)
    if len(references) == 0:
        raise ValueError("the size prior needs at least one reference box")
    distance = np.abs(np.log(_sizes(boxes) / reference_size(references)))
    excess = np.maximum(distance - np.log(tolerance), 0.0)
    return np.exp(-((excess / falloff) ** 2)).astype(np.float32)


def apply_size_prior(boxes: np.ndarray, scores: np.ndarray, reference_boxes: np.ndarray, tolerance: float,
                     falloff: float, score_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted scores and which boxes still pass the threshold.

    Args:
        boxes: `(N, 4)` xyxy pixels; scores: `(N,)`; reference_boxes: `(K, 4)` xyxy pixels.

    Returns:
        `(scores (N,) float32 weighted, keep (N,) bool: weighted score >= score_threshold)`.
    """
    weighted = np.asarray(scores, np.float32) * size_weights(boxes, reference_boxes, tolerance, falloff)
    return weighted, weighted >= score_threshold


def within_size_cap(boxes: np.ndarray, reference_boxes: np.ndarray, cap: float) -> np.ndarray:
    """Which boxes are at most `cap` times the references' size (the hard upper half of the prior: a box much larger
    than the drawn object is a box around several objects, whatever its score).

    Args:
        boxes: `(N, 4)` xyxy pixels; reference_boxes: `(K, 4)` xyxy pixels of the same image (K >= 1).
        cap: >= 1, a multiple of `reference_size(reference_boxes)`.

    Returns:
        `(N,)` bool: size (square root of the box area) <= cap x the references' size.
    """
    if cap < 1:
        raise ValueError(f"the size cap is a multiple of the reference's size, at least 1; got {cap}")
    references = np.asarray(reference_boxes, np.float64).reshape(-1, 4)
    if len(references) == 0:
        raise ValueError("the size cap needs at least one reference box")
    return _sizes(np.asarray(boxes, np.float64).reshape(-1, 4)) <= cap * reference_size(references)


def reference_size(reference_boxes) -> float:
    """The size of one or more references: the geometric mean of their boxes' sizes (square roots of their areas).

    Args:
        reference_boxes: `(K, 4)` xyxy pixels, K >= 1.
    """
    return float(np.exp(np.mean(np.log(_sizes(np.asarray(reference_boxes, np.float64).reshape(-1, 4))))))


def _sizes(boxes: np.ndarray) -> np.ndarray:
    width = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-3)
    height = np.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)
    return np.sqrt(width * height)
