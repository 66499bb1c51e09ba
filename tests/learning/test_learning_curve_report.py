"""bench/learning_curve.py's reports (no model): the tables, the class roles and the partial writes."""

from __future__ import annotations

import argparse
import json

from bench.learning_curve import class_roles, table, write_reports
from model.checkpoint import CARD_FORMAT


def _point(k: int, box: float, per_class: dict[str, float]) -> dict:
    metric = {"mean": box, "ci95": 0.01, "per_run": [box]}
    return {
        "k": k,
        "steps": 150 if k else 0,
        "queries": 12,
        "box_ap50": metric,
        "mask_ap50": metric,
        "recall": metric,
        "per_class": {c: {"box_ap50": v, "mask_ap50": v} for c, v in per_class.items()},
    }


def test_table_has_one_row_per_k_and_box_ap50_per_class_with_its_role():
    points = [_point(0, 0.2, {"person": 0.0, "cup": 0.5}), _point(5, 0.3, {"person": 0.1})]
    text = table("coco128", points, {"person": "held out", "cup": "trained"})
    assert "| 0 | 20.0 ± 1.0 | 20.0 ± 1.0 | 20.0 ± 1.0 | 0 | 12 |" in text
    assert "| k | person (held out) | cup (trained) |" in text
    assert "| 5 | 10.0 | – |" in text  # a class without queries at that k


def test_class_roles_come_from_the_checkpoint_card(tmp_path):
    weights = tmp_path / "m.weights.h5"
    card = {
        "format": CARD_FORMAT,
        "version": "m-v1",
        "preset": "tiny",
        "config": {},
        "training": {"held_out_classes": ["person"], "train_classes": ["cup"]},
    }
    (tmp_path / "m.card.json").write_text(json.dumps(card))
    assert class_roles(weights, ("person", "cup", "disc")) == {
        "person": "held out",
        "cup": "trained",
        "disc": "new",
    }


def test_partial_results_are_written_after_each_point(tmp_path):
    args = argparse.Namespace(checkpoint=tmp_path / "m.weights.h5", out=tmp_path, runs=2)
    results = {"coco128": [_point(0, 0.2, {"cup": 0.5})], "synthetic": []}
    markdown = write_reports(tmp_path, args, results, {"coco128": {"cup": "trained"}})
    saved = json.loads((tmp_path / "learning_curve.json").read_text())
    assert saved["results"]["coco128"][0]["k"] == 0 and saved["settings"]["checkpoint"].endswith(
        "m.weights.h5"
    )
    assert "### coco128" in markdown and "synthetic" not in markdown
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
