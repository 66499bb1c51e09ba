"""`python -m bench --plan smoke`: the whole runner with the `tiny` preset and one repeat, as CI runs it.

It checks that every family produced numbers and a complete report, and one behaviour the numbers rely on: the
warm requests hit the worker's feature cache and the cold ones do not. Timings are never asserted.
Marked `slow`: run by `make test-slow` (CI runs it after `make test`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stack.services import REPO_ROOT

pytestmark = pytest.mark.slow

SMOKE_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-smoke")
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CHECKPOINT", "MODEL_PRESET"}}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    completed = subprocess.run([sys.executable, "-m", "bench", "--plan", "smoke", "--out", str(out)], cwd=REPO_ROOT,
                               env=env, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, json.loads((out / "latest.json").read_text()), completed.stdout


@pytest.mark.parametrize(("label", "precision"), [("tiny@192 fp32", "float32"), ("tiny@192 bf16", "bfloat16")])
def test_interactive_numbers_and_cache_behaviour(smoke_run, label, precision):
    _, results, _ = smoke_run
    config = results["interactive"][label]
    assert config["overrides"] == {"image_size": 192, "image_min_dim": 150}
    assert config["image_size"] == 192 and config["precision"] == precision
    assert config["repeats"] == 1
    assert config["feature_cache_hits"] == {"cold": 0, "warm": 1}
    assert config["end_to_end"]["cold"]["n"] == 1
    assert set(config["direct"]["cold"]["stages"]) >= {"decode", "backbone", "reference", "heads", "paste", "rle"}
    assert config["direct"]["cold"]["instances"] == results["plan"]["max_instances"]
    assert set(config["job_phases"]["cold"]) == {"to_queue", "queue_wait", "in_worker", "back"}
    for name in ("warm_over_cold", "e2e_over_direct_cold", "full_over_backbone_body"):
        assert config["ratios"][name] > 0
    assert config["worker_peak_rss_mb"] > 0


def test_bfloat16_is_compared_with_float32_and_service_precision_is_explicit(smoke_run):
    _, results, _ = smoke_run
    interactive = results["interactive"]
    assert interactive["tiny@192 bf16"]["ratios"]["bf16_over_fp32_direct_cold"] > 0
    assert "bf16_over_fp32_direct_cold" not in interactive["tiny@192 fp32"]["ratios"]
    # bfloat16 features take half the bytes: the in-process predictor really computed in bfloat16.
    assert interactive["tiny@192 bf16"]["feature_mb_per_image"] < interactive["tiny@192 fp32"]["feature_mb_per_image"]
    service_precision = results["plan"]["service_precision"]
    assert service_precision in {"float32", "bfloat16"}
    assert results["throughput"]["precision"] == results["scaling"]["precision"] == service_precision


def test_throughput_memory_scaling_and_training_ran(smoke_run):
    _, results, _ = smoke_run
    assert results["throughput"]["workers"]["1"]["images_per_s"]["median"] > 0
    assert results["memory"]["backend_peak_rss_mb"]
    assert all("model_call" in point for point in results["scaling"]["sizes"].values())
    assert set(results["scaling"]["sweep"]["instances"]) == {"1", "4"}
    assert results["scaling"]["sweep"]["instances"]["4"]["instances_returned"] == 4
    assert set(results["scaling"]["sweep"]["references"]) == {"1", "2"}
    answer = results["scaling"]["answer_per_instance"]
    assert set(answer) == {"128", "256"} and answer["256"]["image_shape"] == [192, 256]
    assert results["training"]["presets"]["tiny"]["step_s"]["n"] == 1
    assert results["machine"]["gpus"] == []


def test_report_files(smoke_run):
    out, results, stdout = smoke_run
    markdown = (out / "latest.md").read_text()
    assert "### Interactive latency (ms)" in markdown and "not measured (no GPU)" in markdown
    assert markdown.strip() == stdout.strip()
    assert results["plot"] == "growth.png" and (out / "growth.png").stat().st_size > 0
