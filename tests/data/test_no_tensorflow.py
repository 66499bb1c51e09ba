"""Data, evaluation and search import without TensorFlow (fast CLI start, usable from TF-free processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_data_evaluation_and_search_do_not_import_tensorflow():
    code = (
        "import sys, model.data, model.evaluation, model.search; "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
