"""Plays the simulated annotator over a labelled set: plan the trials, ask an answerer, keep the books.

A trial is one (image, class, seed) where the image holds at least `MIN_INSTANCES` instances of the class; the seed
picks the instance the reference box is drawn on (`reference_for`). The answerer is any callable
`answerer(QueryImage, reference_box (4,) xyxy pixels, label) -> Suggestions`: the model as the service runs it
(`model.evaluation.service_answerer`), or a training-free baseline (`template_baseline`, `feature_probe`). A list of
thresholds is scored from one answer each: the answerer answers at the lowest, and each threshold keeps the
suggestions scoring at least it. That equals a separate run at each threshold whenever suggestions are greedy NMS
survivors in score order, capped to the best N, and any later rescoring only lowers scores (the model's detection
layer and its size prior; both baselines).

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from model.data.annotations import AnnotatedImage, Dataset
from model.evaluation.effort import EffortSummary, Suggestions, TrialCounts, count_trial

__all__ = ["MIN_INSTANCES", "Answerer", "EffortRun", "LazyMasks", "QueryImage", "Trial", "TrialResult",
           "check_thresholds", "counts_at", "plan_trials", "query_image",
           "reference_for", "run_effort"]

MIN_INSTANCES = 2
"""A trial needs the reference and at least one other instance of its class in the image."""
_WARM_UP_KEY = "warm-up"


@dataclass(frozen=True)
class QueryImage:
    """The image a trial asks about.

    Attributes:
        pixels: `(H, W, 3)` uint8 RGB at the annotated size (the ground truth's frame; answers come back in it).
        path: the image file when it is one: an answerer may decode its bytes itself, as the worker does.
        key: identifies the image among the set's (answerers key their per-image caches on it).
    """

    pixels: np.ndarray
    path: Path | None
    key: str


class Answerer(Protocol):
    """`answerer(image, reference_box, label)` -> `Suggestions` in `image.pixels`' frame; `reference_box` is `(4,)`
    float32 xyxy pixels of that frame; `label` is the drawn box's (the trial's class: an answerer that knows the
    project's other labels lets them claim their objects; the others ignore it)."""

    def __call__(self, image: QueryImage, reference_box: np.ndarray, label: str | None = None) -> Suggestions: ...


@dataclass(frozen=True)
class Trial:
    """One (image, class, seed) and the ground-truth instance the reference is drawn on (an index into
    `AnnotatedImage.instances_of(category_id)`; None in the bank mode, `model.evaluation.bank_effort`: no reference
    drawn)."""

    image_index: int
    image_id: str
    category: str
    category_id: int
    reference_index: int | None
    seed: int


def reference_for(seed: int, image_index: int, category_id: int, count: int) -> int:
    """The instance (0..count-1) seed `seed` draws the reference on: fixed by (seed, image, class) alone, so a
    trial's reference never depends on which other trials run (`--limit`, other classes)."""
    return int(np.random.default_rng([seed, image_index, category_id]).integers(count))


def plan_trials(dataset: Dataset, classes: Sequence[str], seeds: int, *, limit: int | None = None) -> list[Trial]:
    """Every (image, class in `classes`, seed < `seeds`) with at least `MIN_INSTANCES` non-crowd instances.

    Args:
        limit: keep the trials of the first `limit` images that have any (None: all).

    Returns:
        Trials grouped by image (dataset order), then class (dataset order), then seed.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    unknown = sorted(set(classes) - set(dataset.categories))
    if unknown:
        raise ValueError(f"classes {unknown} are not categories of the dataset {list(dataset.categories)}")
    wanted = [dataset.category_id(name) for name in dataset.categories if name in set(classes)]
    trials, images = [], 0
    for index, image in enumerate(dataset.images):
        if limit is not None and images >= limit:
            break
        before = len(trials)
        for cid in wanted:
            count = len(image.instances_of(cid))
            if count >= MIN_INSTANCES:
                trials += [Trial(index, image.image_id, dataset.categories[cid], cid,
                                 reference_for(seed, index, cid, count), seed) for seed in range(seeds)]
        images += len(trials) > before
    return trials


class LazyMasks(Sequence):
    """The instances' `(H, W)` bool masks, rasterised on first use; None for box-only instances (mask unknown)."""

    def __init__(self, image: AnnotatedImage, instances):
        self._image, self._instances, self._cache = image, instances, {}

    def __len__(self) -> int:
        return len(self._instances)

    def __getitem__(self, i):
        if i not in self._cache:
            instance = self._instances[i]
            self._cache[i] = instance.mask(self._image.height, self._image.width) if instance.has_mask else None
        return self._cache[i]


def query_image(dataset: Dataset, image_index: int) -> QueryImage:
    """The `QueryImage` of `dataset.images[image_index]`, decoded now (its file named when it is one)."""
    image = dataset.images[image_index]
    path = image.source if isinstance(image.source, Path) else None
    return QueryImage(image.load_image(), path, f"{image_index}:{image.image_id}")


def counts_at(thresholds: Sequence[float | None], label: str, gt_boxes: np.ndarray, reference_index: int | None,
              answer: Suggestions, *, gt_masks, other_boxes: np.ndarray, seconds: float) -> tuple[TrialCounts, ...]:
    """One answer's books at each threshold (`count_trial` of the suggestions scoring at least it)."""
    return tuple(count_trial(label, gt_boxes, reference_index, answer.at_least(t), gt_masks=gt_masks,
                             other_boxes=other_boxes, seconds=seconds) for t in thresholds)


def check_thresholds(thresholds: Sequence[float | None]) -> tuple[float | None, ...]:
    """`thresholds` as a tuple; ValueError when there is none."""
    thresholds = tuple(thresholds)
    if not thresholds:
        raise ValueError("give at least one threshold (None: keep every suggestion)")
    return thresholds


@dataclass(frozen=True)
class TrialResult:
    """A trial, the answer it got, and its books at each threshold (same order as `EffortRun.thresholds`)."""

    trial: Trial
    counts: tuple[TrialCounts, ...]
    seconds: float

    def to_dict(self, thresholds: Sequence[float | None]) -> dict:
        """JSON-safe: the trial and, per threshold, its counts."""
        trial = self.trial
        return {
            "image_id": trial.image_id, "category": trial.category, "seed": trial.seed,
            "reference_index": trial.reference_index, "instances": self.counts[0].instances,
            "seconds": round(self.seconds, 4),
            "by_threshold": [
                {"threshold": t, "suggestions": c.suggestions, "dropped": c.dropped, "right": c.right,
                 "deletions": c.deletions, "misses": c.misses, **c.deletions_by_kind()}
                for t, c in zip(thresholds, self.counts, strict=True)
            ],
        }


@dataclass(frozen=True)
class EffortRun:
    """Every trial's result; `summary(i)` sums them at `thresholds[i]`."""

    thresholds: tuple[float | None, ...]
    results: tuple[TrialResult, ...] = field(default_factory=tuple)

    def summary(self, position: int = 0) -> EffortSummary:
        return EffortSummary.of(result.counts[position] for result in self.results)


TrialCallback = Callable[[TrialResult, QueryImage, Suggestions, np.ndarray, Sequence], None]
"""`on_trial(result, image, answer, gt_boxes (N, 4), gt_masks)`: progress lines and overlays."""


def run_effort(
    dataset: Dataset,
    trials: Sequence[Trial],
    answerer: Answerer,
    *,
    thresholds: Sequence[float | None] = (None,),
    on_trial: TrialCallback | None = None,
    warm_up: bool = True,
) -> EffortRun:
    """Ask `answerer` once per trial and count what the annotator does at each threshold.

    Args:
        trials: from `plan_trials` (grouped by image: each image is decoded once).
        thresholds: score thresholds to keep suggestions at (None: the answer as it is). The answerer should
            answer at the lowest of them.
        on_trial: called after each trial.
        warm_up: answer once, untimed, before the first trial (on a copy of its image under another key, so no
            per-image cache is primed): one-time costs of a process (tracing, first calls) stay out of the times,
            as the worker's warm-up keeps them out of its answers.

    Returns:
        The `EffortRun`.
    """
    thresholds = check_thresholds(thresholds)
    results = []
    if warm_up and trials:
        first = trials[0]
        image = dataset.images[first.image_index]
        reference = image.boxes(image.instances_of(first.category_id))[first.reference_index]
        answerer(QueryImage(image.load_image(), None, _WARM_UP_KEY), reference, first.category)
    current: tuple[int, QueryImage] | None = None
    for trial in trials:
        image = dataset.images[trial.image_index]
        if current is None or current[0] != trial.image_index:
            current = (trial.image_index, query_image(dataset, trial.image_index))
        query = current[1]
        instances = image.instances_of(trial.category_id)
        gt_boxes = image.boxes(instances)
        others = [a for a in image.instances if a.category_id != trial.category_id and not a.iscrowd]
        gt_masks = LazyMasks(image, instances)
        started = time.perf_counter()
        answer = answerer(query, gt_boxes[trial.reference_index].copy(), trial.category)
        seconds = time.perf_counter() - started
        counts = counts_at(thresholds, trial.category, gt_boxes, trial.reference_index, answer, gt_masks=gt_masks,
                           other_boxes=image.boxes(others), seconds=seconds)
        result = TrialResult(trial, counts, seconds)
        results.append(result)
        if on_trial is not None:
            on_trial(result, query, answer, gt_boxes, gt_masks)
    return EffortRun(thresholds, tuple(results))
