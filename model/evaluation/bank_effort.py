"""The measure's bank mode: no box drawn, the exemplar bank pre-annotates each judged image with every label.

This is batch pre-annotation as the worker's `batch_job` does it: each label of the bank is answered on the image
with its accepted instances pooled into one K-shot reference (`model.answering.find_for_labels`). The annotator
then deletes every wrong suggestion and draws every missed instance; nothing is drawn first, so effort = errors per
instance (the floor is 0).

A *bank trial* is one (judged image, bank label): the label's suggestions on that image are counted against the
label's ground-truth instances there (`count_trial(..., reference_index=None)`), the other labels' instances telling
"other class" from "background". Each suggestion belongs to exactly one trial (its label's), so a suggestion with
the wrong label (a chair labelled "person") is one deletion, never also a right answer elsewhere; a label with no
instance in an image still has a trial there, all of its suggestions deletions.

`bank_from_dataset` builds the bank from accepted data as the service's exemplar bank is built (at most
`MAX_ANNOTATIONS_PER_LABEL` images per label, diverse by `common.exemplars.select_diverse`, at most
`MAX_BOXES_PER_ANNOTATION` boxes of the label per image). Nothing here imports TensorFlow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from model.data.annotations import Dataset
from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import (
    EffortRun,
    LazyMasks,
    QueryImage,
    Trial,
    TrialCallback,
    TrialResult,
    check_thresholds,
    counts_at,
    query_image,
)

__all__ = ["BankAnswerer", "Exemplar", "bank_from_dataset", "encode_bank", "plan_bank_trials", "run_bank_effort"]


@dataclass(frozen=True, eq=False)
class Exemplar:
    """One accepted annotation of a label: its image and the label's boxes in it.

    Attributes:
        image: `(H, W, 3)` uint8 RGB at the annotated size.
        boxes: `(K, 4)` float32 xyxy pixels of `image`, K >= 1.
        image_id: where it comes from (never a judged image).
    """

    image: np.ndarray
    boxes: np.ndarray
    image_id: str


class BankAnswerer(Protocol):
    """`answerer(image)` -> `Suggestions` with `labels` set, in `image.pixels`' frame: every bank label answered."""

    def __call__(self, image: QueryImage) -> Suggestions: ...


def encode_bank(predictor, bank: dict[str, list[Exemplar]]) -> dict[str, list]:
    """Each label's exemplars encoded from their own images at full size, once, as the worker's reference cache
    holds them: `{label: [ReferenceEmbedding, ...]}` (the predictor duck-typed: `encode_references`)."""
    return {label: [predictor.encode_references(e.image, e.boxes) for e in exemplars]
            for label, exemplars in bank.items()}


def bank_from_dataset(dataset: Dataset, labels: Sequence[str] | None = None) -> dict[str, list[Exemplar]]:
    """The exemplar bank of accepted data: per label, the images the service's bank would keep.

    Args:
        dataset: the accepted annotations.
        labels: the labels to keep (None: every category with an instance).

    Returns:
        `{label: [Exemplar, ...]}`, labels in dataset order, only labels with at least one usable box.
    """
    from common.exemplars import MAX_ANNOTATIONS_PER_LABEL, MAX_BOXES_PER_ANNOTATION, select_diverse

    wanted = dataset.categories if labels is None else tuple(labels)
    bank: dict[str, list[Exemplar]] = {}
    for name in dataset.categories:
        if name not in wanted:
            continue
        cid = dataset.category_id(name)
        candidates = []
        for index in dataset.images_with(cid):
            image = dataset.images[index]
            boxes = image.boxes([a for a in image.instances_of(cid) if not a.iscrowd])[:MAX_BOXES_PER_ANNOTATION]
            if len(boxes):
                candidates.append({"image_url": image.image_id, "boxes": boxes.tolist(), "index": index})
        chosen = select_diverse(candidates[::-1], MAX_ANNOTATIONS_PER_LABEL)  # the newest (last) first
        if chosen:
            bank[name] = [Exemplar(dataset.images[c["index"]].load_image(), np.asarray(c["boxes"], np.float32),
                                   c["image_url"]) for c in chosen]
    return bank


def plan_bank_trials(dataset: Dataset, labels: Sequence[str]) -> list[Trial]:
    """Every (image, label in `labels`) of the judged `dataset`; `reference_index` is None (nothing drawn).

    Labels the dataset does not know still get trials (all their suggestions are deletions); their
    `category_id` is -1.
    """
    trials = []
    for index, image in enumerate(dataset.images):
        for label in labels:
            cid = dataset.category_id(label) if label in dataset.categories else -1
            trials.append(Trial(index, image.image_id, label, cid, None, 0))
    return trials


def run_bank_effort(
    dataset: Dataset,
    trials: Sequence[Trial],
    answerer: BankAnswerer,
    *,
    thresholds: Sequence[float | None] = (None,),
    on_trial: TrialCallback | None = None,
) -> EffortRun:
    """Answer each judged image once (all labels) and count each (image, label) trial at each threshold.

    Args:
        trials: from `plan_bank_trials` (grouped by image).
        thresholds: score thresholds to keep suggestions at; the answerer should answer at the lowest.
        on_trial: called after each trial with (result, image, the label's suggestions, gt boxes, gt masks).

    Returns:
        The `EffortRun`; the time of an image's answer is split evenly over its trials.
    """
    thresholds = check_thresholds(thresholds)
    by_image: dict[int, list[Trial]] = {}
    for trial in trials:
        by_image.setdefault(trial.image_index, []).append(trial)
    results = []
    for image_index, image_trials in by_image.items():
        image = dataset.images[image_index]
        query = query_image(dataset, image_index)
        started = time.perf_counter()
        answer = answerer(query)
        seconds = (time.perf_counter() - started) / len(image_trials)
        labels = answer.labels or ()
        for trial in image_trials:
            instances = [a for a in image.instances if a.category_id == trial.category_id and not a.iscrowd]
            others = [a for a in image.instances if a.category_id != trial.category_id and not a.iscrowd]
            gt_boxes, gt_masks = image.boxes(instances).reshape(-1, 4), LazyMasks(image, instances)
            mine = _only_label(answer, labels, trial.category)
            counts = counts_at(thresholds, trial.category, gt_boxes, None, mine, gt_masks=gt_masks,
                               other_boxes=image.boxes(others).reshape(-1, 4), seconds=seconds)
            result = TrialResult(trial, counts, seconds)
            results.append(result)
            if on_trial is not None:
                on_trial(result, query, mine, gt_boxes, gt_masks)
    return EffortRun(thresholds, tuple(results))


def _only_label(answer: Suggestions, labels: Sequence[str], label: str) -> Suggestions:
    """The suggestions of `answer` carrying `label`."""
    keep = [i for i, name in enumerate(labels) if name == label]
    return Suggestions(answer.boxes[keep], answer.scores[keep],
                       None if answer.masks is None else [answer.masks[i] for i in keep], (label,) * len(keep))
