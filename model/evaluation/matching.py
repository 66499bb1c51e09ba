"""Box geometry for evaluation: IoU, greedy NMS, and the one-reference recall/precision of the annotator's figure.

Boxes are `(N, 4)` float `x1, y1, x2, y2` pixels (x2/y2 exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MATCH_IOU", "QueryOutcome", "box_iou", "closest_box", "match_query", "nms", "precision_recall_at"]

MATCH_IOU = 0.5
"""An instance counts as found when a returned box overlaps it with IoU >= 0.5 (the AP50 criterion)."""


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU: `a` (N, 4) and `b` (M, 4) xyxy -> (N, M) float32 (0 where a union is empty)."""
    a = np.asarray(a, dtype=np.float32).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def closest_box(iou: np.ndarray, scores: np.ndarray, min_iou: float = MATCH_IOU) -> int | None:
    """The index of the box that *is* a given object: the highest IoU with it, ties to the better score, then the
    lower index; None when there are no boxes or the highest IoU is under `min_iou`. How the measure finds the
    suggestion that is the drawn reference, and the verifier the suggestion on the drawn object.

    Args:
        iou: `(P,)` each box's IoU with the object (or the best over several objects).
        scores: `(P,)` the boxes' scores.
    """
    iou = np.asarray(iou, np.float64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if not len(iou):
        return None
    best = min(range(len(iou)), key=lambda p: (-iou[p], -scores[p], p))
    return best if iou[best] >= min_iou else None


def nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int | None = None
) -> np.ndarray:
    """Greedy non-maximum suppression: indices (into `boxes`) kept, best score first, at most `max_keep`.

    IoUs are computed one kept box at a time (O(kept x N) memory-light), so thousands of windows are cheap.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores), kind="stable")
    alive = np.ones(len(order), dtype=bool)
    keep: list[int] = []
    for position, index in enumerate(order):
        if not alive[position]:
            continue
        keep.append(int(index))
        if max_keep is not None and len(keep) >= max_keep:
            break
        rest = order[position + 1 :]
        alive[position + 1 :] &= box_iou(boxes[index][None], boxes[rest])[0] <= iou_threshold
    return np.array(keep, dtype=np.int64)


@dataclass(frozen=True)
class QueryOutcome:
    """Matching of one query's predictions to its targets.

    Attributes:
        scores: `(P,)` prediction scores, descending.
        is_hit: `(P,)` bool, prediction p matched a not-yet-matched target at IoU >= MATCH_IOU (greedy in score
            order, so the matches among predictions above any threshold are a prefix of these).
        num_targets: number of same-class instances in the image.
    """

    scores: np.ndarray
    is_hit: np.ndarray
    num_targets: int

    @property
    def recall(self) -> float:
        """Fraction of targets found (0 when there are no targets)."""
        return float(self.is_hit.sum() / self.num_targets) if self.num_targets else 0.0

    @property
    def precision(self) -> float | None:
        """Fraction of returned instances that are right; None when nothing was returned."""
        return float(self.is_hit.mean()) if self.is_hit.size else None


def match_query(pred_boxes: np.ndarray, pred_scores: np.ndarray, target_boxes: np.ndarray) -> QueryOutcome:
    """Greedy one-to-one matching by descending score at IoU >= MATCH_IOU.

    Args:
        pred_boxes: `(P, 4)` xyxy pixels; pred_scores: `(P,)`; target_boxes: `(N, 4)` xyxy pixels.
    """
    order = np.argsort(-np.asarray(pred_scores, dtype=np.float64), kind="stable")
    pred_boxes = np.asarray(pred_boxes, dtype=np.float32).reshape(-1, 4)[order]
    scores = np.asarray(pred_scores, dtype=np.float64)[order]
    iou = box_iou(pred_boxes, target_boxes)
    taken = np.zeros(len(target_boxes), dtype=bool)
    is_hit = np.zeros(len(pred_boxes), dtype=bool)
    for p in range(len(pred_boxes)):
        if not len(target_boxes):
            break
        candidates = np.where(taken, -1.0, iou[p])
        best = int(np.argmax(candidates))
        if candidates[best] >= MATCH_IOU:
            taken[best] = True
            is_hit[p] = True
    return QueryOutcome(scores=scores, is_hit=is_hit, num_targets=len(target_boxes))


def precision_recall_at(outcomes: list[QueryOutcome], threshold: float) -> tuple[float, float | None]:
    """Mean recall over queries and mean precision over queries returning something, keeping scores >= threshold.

    Returns:
        `(mean recall, mean precision or None when no query returned anything)`.
    """
    recalls, precisions = [], []
    for outcome in outcomes:
        kept = int(np.sum(outcome.scores >= threshold))
        hits = int(outcome.is_hit[:kept].sum())
        recalls.append(hits / outcome.num_targets if outcome.num_targets else 0.0)
        if kept:
            precisions.append(hits / kept)
    return float(np.mean(recalls)) if recalls else 0.0, (float(np.mean(precisions)) if precisions else None)
