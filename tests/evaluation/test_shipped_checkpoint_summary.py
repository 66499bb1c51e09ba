"""`scripts/evaluate_shipped_checkpoint.py` summarises reports where nothing was returned (no precision)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from model.evaluation.protocol import evaluate

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "evaluate_shipped_checkpoint.py"


def _script():
    spec = importlib.util.spec_from_file_location("evaluate_shipped_checkpoint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_of_a_report_without_precision_says_na(two_class_dataset):
    script = _script()
    report = evaluate(lambda query, reference, boxes: [], two_class_dataset, runs=1, max_images=1, progress=False)
    assert report["precision"]["mean"] is None  # nothing returned: precision is not measurable

    figures = script.summary(report)
    assert figures["precision"] == {"mean": None, "ci95": None} and figures["recall"]["mean"] == 0.0
    json.dumps(figures)  # the card stays valid JSON (null)
    line = script.summary_line(figures)
    assert "precision n/a" in line and "recall 0.0000 ± 0.0000" in line and "1 images" in line
