"""A small run of scripts/load_test.py against the real embedded stack (tiny preset): it finishes by itself, loses
no batch task, keeps /health answering, keeps interactive jobs ahead of a queued batch, and sheds a burst past the
queue bound with 503 + Retry-After."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600
HEALTH_BUDGET_MS = 1000.0
"""Label Studio gives /health 1 s."""


def test_load_script_small_run(tmp_path):
    out = tmp_path / "report.json"
    env = dict(os.environ, MODEL_PRESET="tiny", TF_CPP_MIN_LOG_LEVEL="2")
    run = subprocess.run([sys.executable, "scripts/load_test.py", "--interactive", "16", "--batch-tasks", "40",
                          "--time-limit", "400", "--out", str(out)], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["batch"]["lost"] == 0 and report["batch"]["delivered"] == 40
    assert report["interactive_alone"]["statuses"] == {"200": 16}
    assert report["interactive_during_batch"]["statuses"] == {"200": 16}
    burst = report["burst_past_bound"]
    assert burst["statuses"].get("503", 0) > 0 and burst["retry_after_s"] == ["2"]
    assert set(burst["statuses"]) <= {"200", "503"}
    for phase in report["health"].values():
        assert phase["failures"] == 0 and phase["max_ms"] < HEALTH_BUDGET_MS
    assert report["stack_exit_code"] == 0
