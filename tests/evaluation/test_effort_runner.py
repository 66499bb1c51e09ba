"""Planning the trials and playing the annotator over a set (model/evaluation/effort_runner.py), with hand-made
answerers: no model."""

from __future__ import annotations

import numpy as np
import pytest
from hand_made import filled, make_image

from model.data import Dataset
from model.evaluation.effort import Suggestions
from model.evaluation.effort_runner import QueryImage, plan_trials, reference_for, run_effort

CATEGORIES = ("cat", "dog")


@pytest.fixture
def dataset() -> Dataset:
    return Dataset(CATEGORIES, (
        make_image(0, [("cat", (0, 0, 10, 10)), ("cat", (20, 20, 30, 30)), ("dog", (40, 0, 50, 10))], CATEGORIES),
        make_image(1, [("dog", (0, 0, 10, 10))], CATEGORIES),  # one instance a class: no trial
        make_image(2, [("cat", (0, 0, 8, 8)), ("cat", (10, 10, 18, 18)), ("cat", (30, 30, 40, 40)),
                       ("dog", (40, 40, 50, 50)), ("dog", (50, 50, 60, 60))], CATEGORIES),
    ))


class Truth:
    """Answers with every instance of the reference's class (found by the box), scores 0.9, 0.8, ... in
    instance order; records the keys it was asked about."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.keys: list[str] = []

    def __call__(self, image: QueryImage, reference_box: np.ndarray, label: str | None = None) -> Suggestions:
        self.keys.append(image.key)
        annotated = self.dataset.images[int(image.pixels[0, 0, 0])]
        same = next(a for a in annotated.instances if np.allclose(a.box, reference_box))
        boxes = annotated.boxes(annotated.instances_of(same.category_id))
        return Suggestions(boxes, 0.9 - 0.1 * np.arange(len(boxes)), [filled(b) for b in boxes])


def test_plan_covers_each_image_and_class_with_two_instances_once_a_seed(dataset):
    trials = plan_trials(dataset, CATEGORIES, seeds=2)
    assert [(t.image_id, t.category, t.seed) for t in trials] == [
        ("0", "cat", 0), ("0", "cat", 1), ("2", "cat", 0), ("2", "cat", 1), ("2", "dog", 0), ("2", "dog", 1)]
    assert all(t.reference_index == reference_for(t.seed, t.image_index, t.category_id, 3 if t.image_id == "2"
                                                  and t.category == "cat" else 2) for t in trials)
    assert [t.image_id for t in plan_trials(dataset, CATEGORIES, seeds=1, limit=1)] == ["0"]
    assert [t.category for t in plan_trials(dataset, ("dog",), seeds=1)] == ["dog"]


def test_the_reference_depends_on_the_seed_alone():
    picks = {reference_for(seed, 5, 3, 10) for seed in range(20)}
    assert len(picks) > 3 and reference_for(7, 5, 3, 10) == reference_for(7, 5, 3, 10)


def test_plan_refuses_unknown_classes_and_no_seeds(dataset):
    with pytest.raises(ValueError, match="not categories"):
        plan_trials(dataset, ("bird",), seeds=1)
    with pytest.raises(ValueError, match="at least 1"):
        plan_trials(dataset, CATEGORIES, seeds=0)


def test_a_perfect_answerer_costs_the_floor(dataset):
    trials = plan_trials(dataset, CATEGORIES, seeds=1)
    answerer = Truth(dataset)
    seen = []
    run = run_effort(dataset, trials, answerer, on_trial=lambda result, *rest: seen.append(result))
    summary = run.summary()
    assert summary.instances == 2 + 3 + 2 and summary.references == 3
    assert summary.effort == summary.floor == pytest.approx(3 / 7)
    assert summary.recall == summary.precision == 1.0
    assert summary.mean_mask_iou is None  # box-only ground truth: its masks are unknown, no mask IoU is made up
    assert len(seen) == 3 and len(summary.seconds) == 3
    assert answerer.keys[0] == "warm-up" and len(answerer.keys) == 1 + len(trials)


def test_a_threshold_sweep_scores_one_answer_at_each_threshold(dataset):
    trials = plan_trials(dataset, ("cat",), seeds=1)
    run = run_effort(dataset, trials, Truth(dataset), thresholds=(0.0, 0.75, 0.95), warm_up=False)
    kept = [run.summary(i).suggestions for i in range(3)]
    assert kept == [2 + 3, 2 + 2, 0]  # scores 0.9, 0.8 (, 0.7)
    assert run.summary(2).effort == 1.0  # nothing suggested: every instance drawn by hand
    record = run.results[0].to_dict(run.thresholds)
    assert [row["threshold"] for row in record["by_threshold"]] == [0.0, 0.75, 0.95]
