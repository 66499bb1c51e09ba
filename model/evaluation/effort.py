"""The simulated annotator's bookkeeping: what one answer costs, and the effort figures over a set.

One *trial* is one (image, class, seed): the annotator draws ONE reference box on a ground-truth instance of the
class, the plugin answers with suggestions, and the annotator then
- keeps nothing of the suggestion that is the reference itself (the best one with box IoU >= `MATCH_IOU` with the
  reference box is dropped: it is already annotated),
- accepts each *right* suggestion (box IoU >= `MATCH_IOU` with a not-yet-matched ground-truth instance of the class
  other than the reference; greedy, best score first; the suggestion must carry the class's label),
- deletes every other suggestion (1 action each: duplicates, wrong labels, other objects, background),
- draws every instance other than the reference that no suggestion matched (1 action each).

In *bank* mode (`reference_index=None`) no reference is drawn: nothing is dropped and every instance can be right.

Over a set every figure is a ratio of sums (`EffortSummary`), as `../shared/docs/model-quality.md` defines them:
effort = (references + deletions + misses) / instances, floor = references / instances, errors per instance =
(deletions + misses) / instances, recall = right / (instances - references), precision = right / (suggestions left
after dropping the reference).

Boxes are `(N, 4)` float `x1, y1, x2, y2` pixels (x2/y2 exclusive); masks `(H, W)` bool. Nothing here imports the
model: it is tested on hand-made suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from model.evaluation.matching import MATCH_IOU, box_iou, closest_box

__all__ = ["EffortSummary", "SuggestionKind", "Suggestions", "TrialCounts", "count_trial", "mask_iou"]


class SuggestionKind(StrEnum):
    """What the annotator does with one suggestion. Every kind but REFERENCE and RIGHT is one deletion."""

    REFERENCE = "reference"
    """The reference object itself, dropped (already annotated)."""
    RIGHT = "right"
    DUPLICATE = "duplicate"
    """On an instance already matched (or on the reference) by a better suggestion."""
    WRONG_LABEL = "wrong label"
    """Carries another label than the trial's class (wherever it is)."""
    OTHER_CLASS = "other class"
    """On a labelled instance of another class."""
    BACKGROUND = "background"
    """On nothing labelled."""


DELETED_KINDS = (SuggestionKind.DUPLICATE, SuggestionKind.WRONG_LABEL, SuggestionKind.OTHER_CLASS,
                 SuggestionKind.BACKGROUND)


@dataclass(frozen=True)
class Suggestions:
    """One answer, in any order.

    Attributes:
        boxes: `(P, 4)` float32 xyxy pixels of the query image.
        scores: `(P,)` float, higher is better (a threshold sweep keeps `scores >= t`).
        masks: P `(H, W)` bool masks, or None when the answerer gives no masks (baselines).
        labels: P label names, or None: every suggestion carries the trial's class (the interactive case, where
            the annotator chose the label before drawing).
    """

    boxes: np.ndarray
    scores: np.ndarray
    masks: Sequence[np.ndarray] | None = None
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        if len(scores) != len(boxes):
            raise ValueError(f"suggestions have {len(boxes)} boxes but {len(scores)} scores; give one score a box")
        for name, values in (("masks", self.masks), ("labels", self.labels)):
            if values is not None and len(values) != len(boxes):
                raise ValueError(f"suggestions have {len(boxes)} boxes but {len(values)} {name}; give one a box")

    @classmethod
    def empty(cls) -> Suggestions:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0))

    def __len__(self) -> int:
        return len(self.boxes)

    def at_least(self, threshold: float | None) -> Suggestions:
        """The suggestions scoring >= `threshold` (all of them for None), in the same order."""
        if threshold is None:
            return self
        keep = np.flatnonzero(self.scores >= threshold)
        return Suggestions(
            self.boxes[keep], self.scores[keep],
            None if self.masks is None else [self.masks[i] for i in keep],
            None if self.labels is None else tuple(self.labels[i] for i in keep),
        )


@dataclass(frozen=True)
class TrialCounts:
    """The bookkeeping of one trial.

    Attributes:
        instances: ground-truth instances of the class in the image (the reference included).
        references: 1, or 0 in bank mode.
        suggestions: suggestions in the answer (before dropping the reference).
        dropped: 1 when a suggestion was the reference (dropped), else 0.
        right, deletions, misses: as the module docstring defines them.
        mask_ious: the mask IoU of each right suggestion whose own and matched instance's masks are known.
        kinds: `SuggestionKind` of each suggestion, in the answer's order.
        matched: for each suggestion, the ground-truth index it matched (the reference's index for the dropped
            one), or -1.
        missed: ground-truth indices never matched (the reference excluded).
        seconds: how long the answer took, when measured.
    """

    instances: int
    references: int
    suggestions: int
    dropped: int
    right: int
    deletions: int
    misses: int
    mask_ious: tuple[float, ...] = ()
    kinds: tuple[SuggestionKind, ...] = ()
    matched: tuple[int, ...] = ()
    missed: tuple[int, ...] = ()
    seconds: float | None = None

    def deletions_by_kind(self) -> dict[str, int]:
        """How many deletions of each deleted kind (keys: `SuggestionKind` values)."""
        return {kind.value: sum(k is kind for k in self.kinds) for kind in DELETED_KINDS}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two `(H, W)` bool masks (0 when both are empty)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of shapes {a.shape} and {b.shape} cannot be compared: both must be the image's")
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


def count_trial(
    label: str,
    gt_boxes: np.ndarray,
    reference_index: int | None,
    suggestions: Suggestions,
    *,
    gt_masks: Sequence[np.ndarray | None] | None = None,
    other_boxes: np.ndarray | None = None,
    seconds: float | None = None,
) -> TrialCounts:
    """What the annotator does with one answer.

    Args:
        label: the trial's class.
        gt_boxes: `(N, 4)` xyxy pixels, every ground-truth instance of `label` in the image.
        reference_index: the instance the reference box was drawn on, or None (bank mode: no reference).
        suggestions: the answer.
        gt_masks: N `(H, W)` bool masks (an item may be None: its mask is unknown), or None; read only for the
            instances a right suggestion matched, so a lazy sequence saves rasterising the others.
        other_boxes: `(M, 4)` xyxy boxes of labelled instances of other classes (tell OTHER_CLASS from BACKGROUND).
        seconds: the answer's time, kept for the summary.

    Returns:
        The trial's `TrialCounts`.
    """
    gt_boxes = np.asarray(gt_boxes, dtype=np.float32).reshape(-1, 4)
    n = len(gt_boxes)
    if reference_index is not None and not 0 <= reference_index < n:
        raise ValueError(f"reference_index {reference_index} is not one of the {n} ground-truth instances")
    labels = suggestions.labels or (label,) * len(suggestions)
    kinds: list[SuggestionKind | None] = [None] * len(suggestions)
    matched = [-1] * len(suggestions)
    iou = box_iou(suggestions.boxes, gt_boxes)  # (P, N)
    other_iou = box_iou(suggestions.boxes, np.zeros((0, 4)) if other_boxes is None else other_boxes)

    dropped = 0
    if reference_index is not None and len(suggestions):
        best = closest_box(iou[:, reference_index], suggestions.scores)  # the suggestion that *is* the reference
        if best is not None:
            kinds[best], matched[best], dropped = SuggestionKind.REFERENCE, reference_index, 1

    taken = np.zeros(n, dtype=bool)
    if reference_index is not None:
        taken[reference_index] = True  # annotated already: never a target, only a duplicate's place
    for p in np.argsort(-suggestions.scores, kind="stable"):
        if kinds[p] is not None:
            continue
        free = np.where(taken, -1.0, iou[p]) if n else np.zeros(0)
        if labels[p] != label:
            kinds[p] = SuggestionKind.WRONG_LABEL
        elif n and free.max() >= MATCH_IOU:
            target = int(np.argmax(free))
            taken[target] = True
            kinds[p], matched[p] = SuggestionKind.RIGHT, target
        elif n and iou[p].max() >= MATCH_IOU:
            kinds[p] = SuggestionKind.DUPLICATE
        elif other_iou.shape[1] and other_iou[p].max() >= MATCH_IOU:
            kinds[p] = SuggestionKind.OTHER_CLASS
        else:
            kinds[p] = SuggestionKind.BACKGROUND

    right = [p for p, kind in enumerate(kinds) if kind is SuggestionKind.RIGHT]
    ious = []
    if gt_masks is not None and suggestions.masks is not None:
        for p in right:
            truth = gt_masks[matched[p]]
            if truth is not None:
                ious.append(mask_iou(suggestions.masks[p], truth))
    missed = tuple(i for i in range(n) if not taken[i] and i != reference_index)
    return TrialCounts(
        instances=n,
        references=int(reference_index is not None),
        suggestions=len(suggestions),
        dropped=dropped,
        right=len(right),
        deletions=len(suggestions) - dropped - len(right),
        misses=len(missed),
        mask_ious=tuple(ious),
        kinds=tuple(kinds),
        matched=tuple(matched),
        missed=missed,
        seconds=seconds,
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator else None


@dataclass(frozen=True)
class EffortSummary:
    """Sums over a set of trials and the figures made of them (each None when its denominator is 0).

    Build it with `EffortSummary.of(trials)`.
    """

    trials: int = 0
    instances: int = 0
    references: int = 0
    suggestions: int = 0
    dropped: int = 0
    right: int = 0
    deletions: int = 0
    misses: int = 0
    deletions_by_kind: dict[str, int] = field(default_factory=dict)
    mask_ious: tuple[float, ...] = ()
    seconds: tuple[float, ...] = ()

    @classmethod
    def of(cls, trials: Iterable[TrialCounts]) -> EffortSummary:
        trials = list(trials)
        by_kind = {kind.value: 0 for kind in DELETED_KINDS}
        for trial in trials:
            for kind, count in trial.deletions_by_kind().items():
                by_kind[kind] += count
        return cls(
            trials=len(trials),
            **{name: sum(getattr(t, name) for t in trials)
               for name in ("instances", "references", "suggestions", "dropped", "right", "deletions", "misses")},
            deletions_by_kind=by_kind,
            mask_ious=tuple(v for t in trials for v in t.mask_ious),
            seconds=tuple(t.seconds for t in trials if t.seconds is not None),
        )

    @property
    def effort(self) -> float | None:
        """Actions per instance: drawing every box by hand = 1.0."""
        return _ratio(self.references + self.deletions + self.misses, self.instances)

    @property
    def floor(self) -> float | None:
        """The effort of a perfect plugin: the references alone."""
        return _ratio(self.references, self.instances)

    @property
    def errors_per_instance(self) -> float | None:
        """(deletions + misses) / instances: 0 for a perfect plugin (the issue's targets use it)."""
        return _ratio(self.deletions + self.misses, self.instances)

    @property
    def recall(self) -> float | None:
        return _ratio(self.right, self.instances - self.references)

    @property
    def precision(self) -> float | None:
        return _ratio(self.right, self.suggestions - self.dropped)

    @property
    def mean_mask_iou(self) -> float | None:
        """Mean mask IoU of the right suggestions; None when no right suggestion had a mask (baselines)."""
        return float(np.mean(self.mask_ious)) if self.mask_ious else None

    @property
    def seconds_median(self) -> float | None:
        return float(np.median(self.seconds)) if self.seconds else None

    @property
    def seconds_mean(self) -> float | None:
        return float(np.mean(self.seconds)) if self.seconds else None

    FIGURES = ("effort", "floor", "errors_per_instance", "recall", "precision", "mean_mask_iou",
               "seconds_median", "seconds_mean")
    """The figures, in the order reports print them."""

    COUNTS = ("trials", "instances", "references", "suggestions", "dropped", "right", "deletions", "misses")

    def to_dict(self) -> dict:
        """Figures, counts and the deletions by kind, JSON-safe (figures rounded to 4 digits)."""
        figures = {name: getattr(self, name) for name in self.FIGURES}
        return {
            **{k: None if v is None else round(v, 4) for k, v in figures.items()},
            **{name: getattr(self, name) for name in self.COUNTS},
            "deletions_by_kind": dict(self.deletions_by_kind),
            "mask_ious_counted": len(self.mask_ious),
        }
