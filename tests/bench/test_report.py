"""bench.report: target verdicts and the Markdown/JSON report from a results dict (made up here, not measured)."""

from __future__ import annotations

import json

import pytest

from bench.end_to_end import add_precision_ratios
from bench.model_latency import STAGES_BY_CONDITIONING
from bench.publish import PAGE_END, PAGE_START
from bench.report import NO_GPU, check_targets, main, plot_prefix, render_markdown, write_results
from stack.services import REPO_ROOT


def _stats(seconds: float) -> dict:
    return {"median": seconds, "min": seconds * 0.9, "max": seconds * 1.2, "n": 3}


def _interactive(warm_over_cold: float, e2e_over_direct: float, precision: str = "float32",
                 scale: float = 1.0, conditioning: str = "pyramid") -> dict:
    stages = {name: _stats(0.01) for name in STAGES_BY_CONDITIONING[conditioning]}
    return {
        "preset": "mobile", "image_size": 512, "precision": precision, "conditioning": conditioning,
        "end_to_end": {"cold": _stats(0.5 * scale), "warm": _stats(0.5 * scale * warm_over_cold)},
        "direct": {"cold": {"stages": stages, "model_call": _stats(0.4 * scale), "instances": 30, "regions": 70},
                   "warm": {"stages": stages, "model_call": _stats(0.1 * scale), "instances": 30, "regions": 70}},
        "worker_timings": {"cold": {"total_s": _stats(0.42)}},
        "job_phases": {kind: {"to_queue": _stats(0.01), "queue_wait": _stats(0.002), "in_worker": _stats(0.4),
                              "back": _stats(0.02)} for kind in ("cold", "warm")},
        "regions_per_answer": 70,
        "ratios": {"warm_over_cold": warm_over_cold, "e2e_over_direct_cold": e2e_over_direct,
                   "e2e_over_direct_warm": 2.0, "full_over_backbone_fpn": 2.5, "full_over_backbone_body": 3.0},
        "feature_mb_per_image": 11.0,
        "worker_peak_rss_mb": 900.0,
    }


def _results() -> dict:
    interactive = {"mobile@512 fp32": _interactive(0.2, 1.05), "mobile@512 bf16": _interactive(0.2, 1.05, "bfloat16",
                                                                                                 scale=0.6),
                   "paper-large@1024 fp32": _interactive(0.5, 1.3), "paper-large@512 fp32": {"skipped": "time budget"},
                   "mobile@1024 fp32": _interactive(0.3, 1.1, conditioning="roi")}
    interactive["paper-large@1024 fp32"].update(preset="paper-large", image_size=1024)
    interactive["mobile@1024 fp32"].update(image_size=1024)
    add_precision_ratios(interactive)
    return {
        "plan": {"name": "full", "repeats": 3, "warmup": 1, "max_instances": 30, "service_precision": "bfloat16"},
        "service_precision_requested": "auto", "started_utc": "2026-01-01T00:00:00Z", "wall_s": 600.0, "load_average_at_end": (1.0, 1.0, 1.0),
        "machine": {"cpu": "Test CPU", "bf16_cpu_flags": ["amx_bf16"], "logical_cores": 2, "memory_gib": 8.0, "gpus": [], "python": "3.11",
                    "packages": {"tensorflow-cpu": "2.21.0", "keras": "3.15.1"}, "load_average_at_start": (1, 1, 1)},
        "notes": [],
        "weights": {"mobile": "the shipped checkpoint `mobile-v9`", "paper-large": "seeded random weights"},
        "interactive": interactive,
        "throughput": {"preset": "mobile", "precision": "bfloat16", "images_per_round": 12, "cache_mb": 48, "scaling_2_over_1": 1.1,
                       "workers": {"1": {"images_per_s": {"median": 2.0, "min": 1.9, "max": 2.1, "n": 3},
                                         "worker_rss_mb_after_each_round": [[800.0], [801.0]],
                                         "worker_peak_rss_mb": [810.0]}}},
        "memory": {"backend_peak_rss_mb": {"1": 30.0, "2": 60.0}, "workers": {
            "mobile@512 fp32": {"peak_rss_mb": 900.0, "feature_mb": 11.0, "entries_in_default_cache": 46}}},
        "scaling": {"preset": "mobile", "precision": "bfloat16", "sizes": {"512": {"model_call": _stats(0.3), "stages": _interactive(0, 0)[
            "direct"]["cold"]["stages"], "instances": 30, "regions": 70, "peak_rss_mb": 900.0, "feature_mb": 11.0}}, "sweep": {"error": "boom"}},
        "training": {"presets": {"mobile": {"image_size": 512, "batch_size": 2, "step_s": _stats(3.0),
                                            "first_step_s": 40.0}},
                     "train_button_to_new_version": "not measured: no training job"},
        "not_measured": ["GPU rows"],
    }


def test_targets_are_judged_only_where_the_issue_sets_one():
    verdicts = check_targets(_results()["interactive"])
    assert verdicts["mobile@512 fp32"]["warm_over_cold"]["status"] == "met"
    assert verdicts["mobile@512 fp32"]["e2e_over_direct_cold"]["status"] == "met"
    assert verdicts["paper-large@1024 fp32"]["warm_over_cold"]["status"] == "missed"
    assert verdicts["paper-large@1024 fp32"]["e2e_over_direct_cold"]["status"] == "missed"
    assert verdicts["mobile@512 fp32"]["full_over_backbone_body"]["status"] == "reported"
    assert "paper-large@512 fp32" not in verdicts


def test_bfloat16_is_compared_with_float32_of_the_same_preset_and_size_only():
    interactive = _results()["interactive"]
    ratios = interactive["mobile@512 bf16"]["ratios"]
    assert ratios["bf16_over_fp32_direct_cold"] == pytest.approx(0.6)
    assert ratios["bf16_over_fp32_direct_warm"] == pytest.approx(0.6)
    assert ratios["bf16_over_fp32_e2e_cold"] == pytest.approx(0.6)
    assert not any(name.startswith("bf16") for label in ("mobile@512 fp32", "paper-large@1024 fp32")
                   for name in interactive[label]["ratios"])
    assert check_targets(interactive)["mobile@512 bf16"]["bf16_over_fp32_direct_cold"]["status"] == "reported"


def test_markdown_has_every_section_and_says_what_was_not_measured():
    text = render_markdown(_results(), image_prefix="bench/results/")
    for heading in ("### Interactive latency (ms)", "### Ratios", "### Batch pre-annotation throughput",
                    "### Memory", "### How cost grows", "### Training speed", "### Not measured"):
        assert heading in text
    assert "**2 cores**" in text and "**no GPU**" in text
    assert f"| paper-large@1024 | GPU | {NO_GPU}" in text
    assert "| mobile@512 fp32 | CPU (2 cores) | 500 (450–600) |" in text
    assert "| mobile@512 bf16 | CPU (2 cores) | 300 (270–360) |" in text
    assert "paper-large@512 fp32 | CPU | skipped (time budget)" in text
    assert "| bfloat16 / float32, direct model call, cold | report | – | 0.60 | – |" in text
    assert "This CPU's bfloat16 features: amx_bf16. Throughput and the growth sweeps run in bfloat16 (what " in text
    assert ("end to end 300 ms cold, 60.0 ms warm in bfloat16 (the service's default here); 500 ms cold, 100 ms warm "
            "in float32 here (met") in text
    assert "Preset `mobile` in bfloat16, batch jobs" in text
    assert "| 512 | 300 (270–360) | 30 / 70 | 50.0 | 900 | 11.0 |" in text
    assert "0.20 ✅" in text and "0.50 ❌" in text
    assert "Instances and references: failed: boom." in text
    assert "30.0 + 60.0" in text
    assert "| mobile | CPU (2 cores) | 512 | 2 | 3.00 (2.70–3.60) | 40.0 s |" in text
    assert "Weights: `mobile`: the shipped checkpoint `mobile-v9`; `paper-large`: seeded random weights." in text


def test_stage_table_marks_the_stages_a_conditioning_does_not_have():
    text = render_markdown(_results())
    assert "| backbone+FPN | RPN+ROIs (image) | reference | matching+RPN | heads |" in text
    # pyramid: no image-side RPN; roi: no per-reference matching + RPN (its heads include the ROI matching).
    assert "| mobile@512 fp32 | pyramid | 10.0 | 10.0 | 10.0 | – | 10.0 | 10.0 | 10.0 |" in text
    assert "| mobile@1024 fp32 | roi | 10.0 | 10.0 | 10.0 | 10.0 | 10.0 | – | 10.0 |" in text


def test_results_without_weights_or_conditioning_still_render():
    results = _results()
    del results["weights"]
    for result in results["interactive"].values():
        result.pop("conditioning", None)
    text = render_markdown(results)
    assert "Models are the presets with seeded random heads" in text
    assert "| mobile@512 fp32 | pyramid | 10.0 |" in text


def test_write_results_writes_json_and_markdown(tmp_path):
    json_path, md_path = write_results(_results(), tmp_path / "out")
    assert json.loads(json_path.read_text())["interactive"]["mobile@512 fp32"]["ratios"]["warm_over_cold"] == 0.2
    assert md_path.read_text().startswith("Run `full`")


def test_report_cli_puts_the_tables_into_the_page_with_the_plot_linked_from_there(tmp_path, capsys):
    results = dict(_results(), plot="growth.png")
    saved = tmp_path / "latest.json"
    saved.write_text(json.dumps(results))
    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    page.write_text(f"# Benchmarks\n\nProse.\n\n{PAGE_START}\n\nstale numbers\n\n{PAGE_END}\n\n## After\n")
    assert main(["--results", str(saved), "--page", str(page), "--image-prefix", "../bench/results/"]) == 0
    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nProse.\n\n") and text.endswith(f"{PAGE_END}\n\n## After\n")
    assert "stale numbers" not in text and "Run `full`" in text and "](../bench/results/growth.png)" in text
    assert "benchmark block updated" in capsys.readouterr().out


def test_the_plot_is_linked_from_the_docs_page_to_bench_results():
    assert plot_prefix(REPO_ROOT / "docs" / "benchmarks.md") == "../bench/results/"
    assert plot_prefix(REPO_ROOT / "README.md") == "bench/results/"
