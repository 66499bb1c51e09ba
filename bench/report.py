"""The full run's report: target verdicts and the Markdown of `bench/results/latest.json` (`latest.md`).

    python -m bench.report [--results bench/results/latest.json]         # print the Markdown of a saved run
    python -m bench.report --page docs/benchmarks.md                     # put it into that page's generated block

The page update touches only the text between the markers of `bench.publish` (it adds them at the end of the page
the first time); every other section stays byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.publish import RESULTS_DIR, update_page

__all__ = ["TARGETS", "check_targets", "plot_prefix", "render_markdown", "write_results"]

TARGETS = {
    "warm_over_cold": ("<=", 0.3, "warm / cold end to end (the feature cache must pay)"),
    "e2e_over_direct_cold": ("<=", 1.1, "end to end / direct model call, cold (the plumbing must be cheap)"),
    "e2e_over_direct_warm": (None, None, "end to end / direct model call, warm"),
    "e2e_over_direct_with_answer_cold": (None, None, "end to end / direct (model call + decode + RLE + regions), "
                                         "cold: the transport alone"),
    "direct_warm_over_cold": (None, None, "direct model call warm / cold (the most the cache can save)"),
    "full_over_backbone_fpn": (None, None, "full model call / backbone+FPN forward alone"),
    "full_over_backbone_body": (None, None, "full model call / backbone body forward alone"),
    "bf16_over_fp32_direct_cold": (None, None, "bfloat16 / float32, direct model call, cold"),
    "bf16_over_fp32_direct_warm": (None, None, "bfloat16 / float32, direct model call, warm"),
    "bf16_over_fp32_e2e_cold": (None, None, "bfloat16 / float32, end to end, cold"),
}
"""Ratio name -> (comparison, target, meaning). A None target is reported, not judged."""

INTERACTIVE_AIM_S = 1.0
"""Issue 7: suggestions "well under a second on a laptop CPU with the mobile preset"."""
NO_GPU = "not measured (no GPU)"
PLOT_NAME = "growth.png"


def check_targets(interactive: dict) -> dict:
    """Per configuration and ratio: value, target and "met"/"missed" (or "reported" without a target)."""
    verdicts = {}
    for label, result in interactive.items():
        ratios = result.get("ratios") or {}
        for name, (_op, target, _) in TARGETS.items():
            value = ratios.get(name)
            if value is None:
                continue
            status = "reported" if target is None else ("met" if value <= target else "missed")
            verdicts.setdefault(label, {})[name] = {"value": value, "target": target, "status": status}
    return verdicts


def write_results(results: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write `latest.json` and `latest.md` into `out_dir`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    json_path.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    md_path.write_text(render_markdown(results) + "\n")
    return json_path, md_path


def _ms(stats: dict | None, with_range: bool = True) -> str:
    if not stats or "median" not in stats:
        return "–"
    text = _num(stats["median"] * 1e3)
    return f"{text} ({_num(stats['min'] * 1e3)}–{_num(stats['max'] * 1e3)})" if with_range else text


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _problem(result: dict) -> str | None:
    if "skipped" in result:
        return f"skipped ({result['skipped']})"
    if "error" in result:
        return f"failed: {str(result['error'])[:160]}"
    return None


def _machine(results: dict) -> list[str]:
    m = results.get("machine", {})
    packages = m.get("packages", {})
    tf_version = packages.get("tensorflow-cpu") or packages.get("tensorflow") or "?"
    gpus = ", ".join(m.get("gpus") or []) or "**no GPU**"
    plan = results.get("plan", {})
    lines = [
        f"Run `{plan.get('name')}` of {results.get('started_utc', '?')} ({_num(results.get('wall_s'))} s wall). "
        f"Machine: {m.get('cpu')}, **{m.get('logical_cores')} cores**, {m.get('memory_gib')} GiB RAM, {gpus}; "
        f"Python {m.get('python')}, TensorFlow {tf_version} (CPU), Keras {packages.get('keras', '?')}.",
        f"Load average at start {m.get('load_average_at_start')}, at end {results.get('load_average_at_end')}: "
        "the machine is shared (a training run and other tests were running), so read absolute times as noisy "
        "and compare the ratios, which are measured side by side.",
        f"Every number: {plan.get('warmup')} warm-up call(s), then up to {plan.get('repeats')} recorded; "
        "median (min–max). " + _weights(results),
    ]
    if "service_precision" in plan:
        flags = ", ".join(m.get("bf16_cpu_flags") or []) or "none"
        lines.append(
            "Precision (MODEL_PRECISION, set explicitly for every worker; the in-process predictor of a row computes "
            "in the same one, with the same weights): `fp32` = float32, `bf16` = bfloat16 (Keras mixed policy: "
            f"float32 weights, bfloat16 convolutions). This CPU's bfloat16 features: {flags}. Throughput and the "
            f"growth sweeps run in {plan['service_precision']}"
            + (" (what MODEL_PRECISION=auto picks here)" if results.get("service_precision_requested") == "auto"
               else "") + "; training always runs in float32.")
    for note in results.get("notes", []):
        lines.append(f"Note: {note}")
    return lines


def _weights(results: dict) -> str:
    """Which weights the models have (`bench.models.describe_weights`; runs before it had random heads only)."""
    limits = (f"score threshold 0 and max_instances {results.get('plan', {}).get('max_instances')}, so the number "
              "of detections per request does not depend on the weights")
    weights = results.get("weights")
    if not weights:
        return (f"Models are the presets with seeded random heads; {limits}. Random heads give blotchy masks, so "
                "polygon costs in the latency tables are pessimistic; the per-instance table under 'How cost grows' "
                "times a clean mask.")
    return ("Weights: " + "; ".join(f"`{preset}`: {text}" for preset, text in weights.items()) + f". Every request "
            f"has {limits}; the masks do: random heads paste blotchy ones (many polygon parts), so the polygon costs "
            "of random-weight models are pessimistic; the per-instance table under 'How cost grows' times a clean "
            "mask.")


def _interactive(results: dict) -> list[str]:
    interactive = results.get("interactive", {})
    lines = [
        "### Interactive latency (ms)",
        "",
        "End to end = HTTP /predict -> backend -> Redis -> worker -> answer with boxes, brush masks and polygons. "
        "Direct = `encode_image` + `encode_references` + `find` in-process on the same image and weights. Cold = "
        "new image; warm = same image, another box (feature cache hit).",
        "",
        "| preset @ query, precision | device | end to end, cold | end to end, warm | direct, cold | direct, warm | "
        "instances / regions per answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in interactive.items():
        problem = _problem(r)
        if problem:
            lines.append(f"| {label} | CPU | {problem} | | | | |")
            continue
        e2e, direct = r["end_to_end"], r["direct"]
        lines.append(
            f"| {label} | CPU (2 cores) | {_ms(e2e['cold'])} | {_ms(e2e['warm'])} | "
            f"{_ms(direct['cold']['model_call'])} | {_ms(direct['warm']['model_call'])} | "
            f"{direct['cold']['instances']} / {r['regions_per_answer']} |")
    for config in dict.fromkeys(label.split(" ")[0] for label in interactive):  # precisions share a GPU row
        if config.startswith("paper-large"):
            lines.append(f"| {config} | GPU | {NO_GPU} | {NO_GPU} | {NO_GPU} | {NO_GPU} | |")
    lines += [
        "",
        "Where the time goes, cold, ms (medians; stages timed in-process, HTTP + queue from RQ's timestamps of the "
        "end-to-end requests). Where the reference meets the image is the model's conditioning: `pyramid` (the "
        "paper's) matches every pyramid level with the reference, so matching + RPN + proposals run per reference; "
        "`roi` runs the RPN, proposals and ROI pooling on the image alone (cached with it: 'RPN+ROIs') and its "
        "'heads' include matching the pooled ROIs with the reference. '–' = no such stage in that conditioning.",
        "",
        "| preset @ query, precision | conditioning | decode | preprocess | backbone+FPN | RPN+ROIs (image) | "
        "reference | matching+RPN | heads | mask paste | RLE | regions box / brush / polygon | HTTP in + queue | "
        "worker job | end to end |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in interactive.items():
        if _problem(r):
            continue
        s = r["direct"]["cold"]["stages"]

        def stage(name: str, stages=s) -> str:
            return _ms(stages.get(name), with_range=False)

        worker = r.get("worker_timings", {}).get("cold", {}).get("total_s")
        phases = (r.get("job_phases") or {}).get("cold") or {}
        queue = (phases["to_queue"]["median"] + phases["queue_wait"]["median"]
                 if "to_queue" in phases and "queue_wait" in phases else None)
        lines.append(
            f"| {label} | {r.get('conditioning', 'pyramid')} | {stage('decode')} | {stage('preprocess')} | "
            f"{stage('backbone')} | {stage('rpn_rois')} | {stage('reference')} | {stage('matching_rpn')} | "
            f"{stage('heads')} | {stage('paste')} | {stage('rle')} | "
            f"{stage('regions_box')} / {stage('regions_brush')} / {stage('regions_polygon')} | "
            f"{_num(None if queue is None else queue * 1e3)} | {_ms(worker, with_range=False)} | "
            f"{_ms(r['end_to_end']['cold'], with_range=False)} |")
    lines += ["", "Outside the model, from RQ's timestamps (ms, medians, cold / warm): HTTP in + enqueue, waiting in "
              "the queue, the job in the worker, result pickup + regions + HTTP out.", "",
              "| preset @ query, precision | to queue | queue wait | in worker | back |", "|---|---|---|---|---|"]
    for label, r in interactive.items():
        phases = r.get("job_phases") if not _problem(r) else None
        if not phases:
            continue
        cells = [f"{_ms(phases['cold'].get(k), False)} / {_ms(phases['warm'].get(k), False)}"
                 for k in ("to_queue", "queue_wait", "in_worker", "back")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    traces = {label: r["trace_counts"] for label, r in interactive.items() if not _problem(r) and r.get("trace_counts")}
    if traces:
        lines += ["", "`tf.function` traces of the in-process predictor after all its calls (1 each = no retracing): "
                  + "; ".join(f"{label} {counts}" for label, counts in traces.items()) + "."]
    return lines


def _ratios(results: dict) -> list[str]:
    interactive = {k: v for k, v in results.get("interactive", {}).items() if not _problem(v)}
    if not interactive:
        return []
    verdicts = check_targets(interactive)
    labels = list(interactive)
    lines = ["### Ratios (same run, side by side)", "",
             "| ratio | target | " + " | ".join(labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for name, (op, target, meaning) in TARGETS.items():
        cells = []
        for label in labels:
            verdict = verdicts.get(label, {}).get(name)
            if verdict is None:
                cells.append("–")
            elif verdict["status"] == "reported":
                cells.append(f"{verdict['value']:.2f}")
            else:
                cells.append(f"{verdict['value']:.2f} {'✅' if verdict['status'] == 'met' else '❌'}")
        target_text = "report" if target is None else f"{op} {target}"
        lines.append(f"| {meaning} | {target_text} | " + " | ".join(cells) + " |")
    aim = _aim(interactive, results.get("plan", {}).get("service_precision"))
    return lines + (["", aim] if aim else [])


def _aim(interactive: dict, service_precision: str | None) -> str | None:
    """Issue 7's aim for mobile@512, judged in the service's default precision (listed first)."""
    mobile = [r for label, r in interactive.items() if label.split(" ")[0] == "mobile@512"]
    if not mobile:
        return None
    mobile.sort(key=lambda r: r.get("precision") != service_precision)
    parts = []
    for r in mobile:
        cold, warm = r["end_to_end"]["cold"]["median"], r["end_to_end"]["warm"]["median"]
        text = f"{_num(cold * 1e3)} ms cold, {_num(warm * 1e3)} ms warm"
        if r.get("precision"):
            text += f" in {r['precision']}"
            if len(mobile) > 1 and r["precision"] == service_precision:
                text += " (the service's default here)"
        parts.append(text)
    verdict = "met" if mobile[0]["end_to_end"]["cold"]["median"] < INTERACTIVE_AIM_S else "missed"
    return (f"Aim of issue 7, `mobile` well under {INTERACTIVE_AIM_S:g} s on a CPU: end to end "
            f"{'; '.join(parts)} here ({verdict} on this shared machine).")


def _throughput(results: dict) -> list[str]:
    t = results.get("throughput") or {}
    problem = _problem(t) if t else "not run"
    lines = ["### Batch pre-annotation throughput", ""]
    if problem:
        return lines + [f"{problem}."]
    precision = f" in {t['precision']}" if t.get("precision") else ""
    lines += [f"Preset `{t['preset']}`{precision}, batch jobs of {t['images_per_round']} distinct images per round, "
              f"feature cache {t['cache_mb']} MB per worker.", "",
              "| workers | device | images / s | worker peak RSS (MB) | worker RSS after each round (MB) |",
              "|---|---|---|---|---|"]
    for count, r in t["workers"].items():
        problem = _problem(r)
        if problem:
            lines.append(f"| {count} | CPU | {problem} | | |")
            continue
        s = r["images_per_s"]
        lines.append(f"| {count} | CPU (2 cores) | {s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f}) | "
                     f"{r['worker_peak_rss_mb']} | {r['worker_rss_mb_after_each_round']} |")
    lines.append(f"| 1 | GPU | {NO_GPU} | | |")
    scaling = t.get("scaling_2_over_1")
    lines += ["", f"Scaling 2 workers / 1 worker: **{_num(scaling)}** (2 cores: each TensorFlow process already "
              "uses both, so a second worker mostly overlaps the non-TensorFlow parts)."]
    return lines


def _memory(results: dict) -> list[str]:
    memory = results.get("memory") or {}
    lines = ["### Memory (peak RSS, MB)", "", "| process | peak RSS | feature cache entry | entries in the default "
             "cache |", "|---|---|---|---|"]
    backend = memory.get("backend_peak_rss_mb")
    if backend:
        lines.append(f"| backend (gunicorn master + 1 gthread worker, no TensorFlow) | "
                     f"{' + '.join(_num(v) for v in backend.values())} | | |")
    for label, entry in memory.get("workers", {}).items():
        lines.append(f"| worker, {label} | {_num(entry.get('peak_rss_mb'))} | {_num(entry.get('feature_mb'))} MB | "
                     f"{entry.get('entries_in_default_cache', '–')} |")
    bound = memory.get("feature_cache_bound")
    if bound:
        lines += ["", bound]
    return lines


def _growth(results: dict, image_prefix: str) -> list[str]:
    s = results.get("scaling") or {}
    if not s:
        return []
    precision = f" in {s['precision']}" if s.get("precision") else ""
    lines = ["### How cost grows", "", f"Preset `{s.get('preset')}`{precision}, direct in-process, cold call; image "
             "long side = query size (4:3 images).", "",
             "| long side (px) | model call (ms) | instances / regions | paste + RLE + regions (ms) | "
             "process peak RSS (MB) | features (MB) |",
             "|---|---|---|---|---|---|"]
    for size, r in s.get("sizes", {}).items():
        problem = _problem(r)
        if problem:
            lines.append(f"| {size} | {problem} | | | | |")
            continue
        post = sum(r["stages"][k]["median"] for k in ("paste", "rle", "regions_box", "regions_brush",
                                                      "regions_polygon"))
        lines.append(f"| {size} | {_ms(r['model_call'])} | {r.get('instances', '–')} / {r.get('regions', '–')} | "
                     f"{_num(post * 1e3)} | {_num(r.get('peak_rss_mb'))} | {_num(r['feature_mb'])} |")
    sweep = s.get("sweep") or {}
    problem = _problem(sweep) if sweep else "not run"
    if problem:
        lines += ["", f"Instances and references: {problem}."]
    else:
        lines += _sweep(sweep)
    answer = s.get("answer_per_instance") or {}
    if answer:
        lines += ["", "Building the answer for ONE clean instance (an ellipse over a tenth of the image; no model), "
                  "by image size, ms:", "", "| image | COCO RLE (worker) | box region | brush region | "
                  "polygon region |", "|---|---|---|---|---|"]
        for r in answer.values():
            h, w = r["image_shape"]
            lines.append(f"| {w}×{h} | {_ms(r['rle'])} | {_ms(r['rectanglelabels'])} | {_ms(r['brushlabels'])} | "
                         f"{_ms(r['polygonlabels'])} |")
    if results.get("plot"):
        lines += ["", f"![how cost grows]({image_prefix}{PLOT_NAME})"]
    return lines


def _sweep(sweep: dict) -> list[str]:
    lines = ["", f"Warm answers (reference + find + RLE + regions) at query {sweep['size']}, "
              f"{sweep['image_shape'][1]}×{sweep['image_shape'][0]} images with N copies of an object, "
              "max_instances = N (process peak RSS "
              f"{_num(sweep.get('peak_rss_mb'))} MB):", "",
              "| N | returned | find (ms) | paste + RLE + regions (ms) | answer total (ms) |", "|---|---|---|---|---|"]
    for count, r in sweep["instances"].items():
        lines.append(f"| {count} | {r['instances_returned']} | {_ms(r['find'])} | {_ms(r['post_processing'])} | "
                     f"{_ms(r['answer_total'])} |")
    lines += ["", "| reference boxes K | reference branch (ms) | answer total (ms) |", "|---|---|---|"]
    for k, r in sweep["references"].items():
        lines.append(f"| {k} | {_ms(r['reference'])} | {_ms(r['answer_total'])} |")
    return lines


def _training(results: dict) -> list[str]:
    t = results.get("training") or {}
    if not t:
        return []
    lines = ["### Training speed", "", "Float32 (fine-tuning always trains in float32, whatever MODEL_PRECISION).", "",
             "| preset | device | query | batch | seconds / step | first step (tracing) |",
             "|---|---|---|---|---|---|"]
    for preset, r in t.get("presets", {}).items():
        problem = _problem(r)
        if problem:
            lines.append(f"| {preset} | CPU | {problem} | | | |")
            continue
        s = r["step_s"]
        lines.append(f"| {preset} | CPU (2 cores) | {r['image_size']} | {r['batch_size']} | {s['median']:.2f} "
                     f"({s['min']:.2f}–{s['max']:.2f}) | {r['first_step_s']:.1f} s |")
        lines.append(f"| {preset} | GPU | {NO_GPU} | | | |")
    lines += ["", f"Train button to a new active version (20 annotated images): {t.get('train_button_to_new_version')}."]
    return lines


def render_markdown(results: dict, image_prefix: str = "") -> str:
    """The report as Markdown (no top-level heading: it sits under a heading of docs/benchmarks.md)."""
    sections = [_machine(results), _interactive(results), _ratios(results), _throughput(results),
                _memory(results), _growth(results, image_prefix), _training(results)]
    not_measured = results.get("not_measured") or []
    if not_measured:
        sections.append(["### Not measured", ""] + [f"- {item}" for item in not_measured])
    return "\n\n".join("\n".join(section) for section in sections if section)


def plot_prefix(page: Path) -> str:
    """The link prefix from `page`'s folder to `bench/results/`, where the plot is (`../bench/results/` for docs/)."""
    return Path(os.path.relpath(RESULTS_DIR, page.resolve().parent)).as_posix() + "/"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--image-prefix", default=None, help="prefix of the plot link (default: none, or the path "
                        "from the page's folder to bench/results/ with --page)")
    parser.add_argument("--page", type=Path, default=None, help="update the generated block of this Markdown page "
                        "(docs/benchmarks.md)")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    if args.page is None:
        print(render_markdown(results, args.image_prefix or ""))
        return 0
    prefix = plot_prefix(args.page) if args.image_prefix is None else args.image_prefix
    print(f"{args.page}: benchmark block {update_page(args.page, render_markdown(results, prefix))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
