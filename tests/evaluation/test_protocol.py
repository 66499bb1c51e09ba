"""The evaluator on hand-made predictions with known AP50, recall and precision."""

from __future__ import annotations

import numpy as np
import pytest
from hand_made import Oracle, filled

from model.data import Dataset
from model.evaluation import evaluate
from model.evaluation.coco_metrics import CI95_Z

# COCO AP interpolates precision at 101 recall points 0, 0.01, ..., 1. With two targets, a hit ranked first and a
# miss second, precision is 1 up to recall 0.5 (51 points) and 0 beyond: AP50 = 51 / 101.
HALF_FOUND_AP = 51 / 101


def test_perfect_predictions_score_one(two_class_dataset):
    oracle = Oracle(two_class_dataset)
    report = evaluate(oracle, two_class_dataset, runs=2, seed=0, progress=False)
    assert report["box_ap50"]["mean"] == pytest.approx(1.0)
    assert report["mask_ap50"]["mean"] == pytest.approx(1.0)
    assert report["recall"]["mean"] == pytest.approx(1.0) and report["precision"]["mean"] == pytest.approx(
        1.0
    )
    assert report["per_class"] == {
        "cat": {"box_ap50": 1.0, "mask_ap50": 1.0},
        "dog": {"box_ap50": 1.0, "mask_ap50": 1.0},
    }
    # One query per (image, category present): image 0 cat+dog, image 1 cat+dog, image 2 dog; none for image 3.
    assert report["num_queries"] == 5 and len(oracle.calls) == 10
    assert {(q, c) for q, _, c in oracle.calls} == {
        ("0", "cat"),
        ("0", "dog"),
        ("1", "cat"),
        ("1", "dog"),
        ("2", "dog"),
    }


def test_half_wrong_predictions_give_the_hand_computed_ap(two_class_dataset):
    def answers(image_id, category):
        if image_id == "0" and category == "cat":
            hit = (np.array([0, 0, 10, 10.0]), 0.9, filled((0, 0, 10, 10)))
            wrong = (np.array([40, 40, 50, 50.0]), 0.8, filled((40, 40, 50, 50)))
            return [hit, wrong]  # the second cat (20, 20, 30, 30) is missed
        return []

    only_image_0 = Dataset(two_class_dataset.categories, two_class_dataset.images[:1])
    report = evaluate(Oracle(only_image_0, answers), only_image_0, ["cat"], runs=1, progress=False)
    assert report["box_ap50"]["mean"] == pytest.approx(HALF_FOUND_AP)
    assert report["mask_ap50"]["mean"] == pytest.approx(HALF_FOUND_AP)
    assert report["recall"]["mean"] == pytest.approx(0.5)
    assert report["precision"]["mean"] == pytest.approx(0.5)


def test_only_active_classes_are_averaged(two_class_dataset):
    def answers(image_id, category):
        oracle = Oracle(two_class_dataset)
        return (
            oracle.truth(image_id, category)
            if category == "cat"
            else [(np.array([60, 60, 64, 64.0]), 1.0, filled((60, 60, 64, 64)))]
        )

    cats_only = evaluate(
        Oracle(two_class_dataset, answers), two_class_dataset, ["cat"], runs=1, progress=False
    )
    assert cats_only["box_ap50"]["mean"] == pytest.approx(1.0)
    assert set(cats_only["per_class"]) == {"cat"}
    both = evaluate(Oracle(two_class_dataset, answers), two_class_dataset, None, runs=1, progress=False)
    assert both["box_ap50"]["mean"] == pytest.approx(0.5), "cat 1.0 and dog 0.0 averaged"
    assert both["per_class"]["dog"]["box_ap50"] == 0.0


def test_runs_draw_fresh_references_and_report_the_interval(two_class_dataset):
    def answers(image_id, category):  # right only when the reference came from the query image itself
        return Oracle(two_class_dataset).truth(image_id, category) if state["same"] else []

    state = {"same": False}
    oracle = Oracle(two_class_dataset, answers)

    def predict(query, reference, boxes):
        state["same"] = reference is query
        return oracle(query, reference, boxes)

    report = evaluate(predict, two_class_dataset, runs=6, seed=1, progress=False)
    per_run = np.array(report["box_ap50"]["per_run"])
    assert len(per_run) == 6 and per_run.std() > 0, "references differ between runs"
    assert report["box_ap50"]["mean"] == pytest.approx(per_run.mean())
    assert report["box_ap50"]["ci95"] == pytest.approx(CI95_Z * per_run.std() / np.sqrt(6))
    again = evaluate(predict, two_class_dataset, runs=6, seed=1, progress=False)
    assert again["box_ap50"]["per_run"] == report["box_ap50"]["per_run"], "same seed, same references"


def test_references_from_other_images_only_when_asked(two_class_dataset):
    seen = []

    def predict(query, reference, boxes):
        seen.append(reference is query)
        return []

    report = evaluate(predict, two_class_dataset, runs=3, allow_same_image_reference=False, progress=False)
    assert seen and not any(seen)
    assert report["box_ap50"]["mean"] == 0.0 and report["recall"]["mean"] == 0.0
    assert report["precision"]["mean"] is None, "nothing returned: precision undefined, not zero"


def test_k_shot_passes_k_images_and_boxes(two_class_dataset):
    oracle = Oracle(two_class_dataset)
    report = evaluate(oracle, two_class_dataset, runs=1, shots=3, progress=False)
    assert {k for _, k, _ in oracle.calls} == {3}
    assert report["shots"] == 3 and report["box_ap50"]["mean"] == pytest.approx(1.0)


def test_bad_predictions_are_reported_clearly(two_class_dataset):
    def predict(query, reference, boxes):
        return [(np.array([0, 0, 5, 5.0]), 1.0, np.zeros((3, 3), bool))]

    with pytest.raises(ValueError, match="must match the query image"):
        evaluate(predict, two_class_dataset, runs=1, progress=False)
