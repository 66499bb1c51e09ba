"""How cost grows: latency and memory against image size, number of instances and number of reference boxes.

- Size: the image's long side and the query size grow together (512, 768, 1024, 1536; 4:3 images), so the
  network and the per-pixel post-processing both grow. One fresh process per size (`bench.probe`), so each
  size's peak RSS is its own.
- Instances: synthetic images with N copies of one object, answered with `max_instances=N` (score threshold 0;
  the preset's detection limit is raised to the largest N). The network always computes its fixed number of
  detections, so what grows with N is mask pasting, RLE and the Label Studio regions.
- References: K = 1 and 5 boxes of the same image (K-shot): the reference branch runs on K crops.
- Answer building per instance: one clean elliptic mask (a tenth of the image) at growing image sizes, turned
  into COCO RLE (worker) and box / brush / polygon regions (backend): `bench.answer_building.one_instance_cost`.
Size and instance sweeps run in `Plan.service_precision` (what the service computes in by default here). The
results are also drawn (`plot_growth`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.plan import Plan, native_size, size_overrides
from bench.probe import probe_within
from bench.scenes import ASPECT
from bench.timing import Deadline, Stats

__all__ = ["instance_sweep", "plot_growth", "run_scaling", "size_point"]

SWEEP_SHAPE = (768, 1024)
"""(H, W) of the instance-sweep images (room for 100 objects of about 50 px)."""
PROBE_TIMEOUT_S = 420.0
POST_STAGES = ("paste", "rle", "regions_box", "regions_brush", "regions_polygon")


def size_point(preset: str, size: int, repeats: int, warmup: int, copies: int, max_instances: int,
               seed: int, precision: str) -> dict:
    """(In a probe process.) Cold calls at query size `size` on `size`-wide 4:3 images: stage medians."""
    from bench.model_latency import DirectPipeline, summarize_calls
    from bench.models import build_predictor
    from bench.scenes import encode_jpeg, make_scene

    predictor = build_predictor(preset, size_overrides(preset, size), seed, precision)
    pipeline = DirectPipeline(predictor, max_instances)
    height = int(round(size * ASPECT))
    calls = []
    for index in range(warmup + repeats):
        scene = make_scene(height, size, copies, seed=seed * 1000 + index)
        times, query, _ = pipeline.cold(encode_jpeg(scene.image), scene.boxes[0])
        if index >= warmup:
            calls.append(times)
    summary = summarize_calls(calls)
    summary.update(size=size, image_shape=[height, size], feature_mb=round(query.nbytes / 2**20, 2))
    return summary


def instance_sweep(preset: str, size: int, counts: list[int], references: list[int], repeats: int, warmup: int,
                   seed: int, precision: str) -> dict:
    """(In a probe process.) Warm-call cost against the number of instances N, and against K reference boxes."""
    from bench.model_latency import DirectPipeline
    from bench.models import build_predictor
    from bench.scenes import encode_jpeg, make_scene
    from model.presets import get_preset

    overrides = size_overrides(preset, size)
    if max(counts) > get_preset(preset).detection_max_instances:
        overrides["detection_max_instances"] = max(counts)
    predictor = build_predictor(preset, overrides, seed, precision)
    height, width = SWEEP_SHAPE
    per_count = {}
    for count in counts:
        pipeline = DirectPipeline(predictor, count)
        scene = make_scene(height, width, max(count, max(references)), seed=seed + count)
        _, query, image = pipeline.cold(encode_jpeg(scene.image), scene.boxes[0])
        calls = [pipeline.warm(query, image, scene.boxes[0]) for _ in range(warmup + repeats)][warmup:]
        per_count[str(count)] = _warm_summary(calls)
    per_k = {}
    pipeline = DirectPipeline(predictor, max(counts))
    scene = make_scene(height, width, max(references), seed=seed + 999)
    _, query, image = pipeline.cold(encode_jpeg(scene.image), scene.boxes[0])
    for k in references:
        calls = [pipeline.warm(query, image, scene.boxes[:k]) for _ in range(warmup + repeats)][warmup:]
        per_k[str(k)] = _warm_summary(calls)
    return {"preset": preset, "size": predictor.config.image_size, "overrides": overrides,
            "image_shape": list(SWEEP_SHAPE), "instances": per_count, "references": per_k}


def _warm_summary(calls) -> dict:
    """Medians (seconds) of a warm call's parts, and the instances returned."""
    post = [sum(c.stages[s] for s in POST_STAGES) for c in calls]
    total = [c.model_call + sum(c.stages[s] for s in POST_STAGES if s != "paste") for c in calls]
    return {
        "reference": Stats.of([c.stages["reference"] for c in calls]).to_dict(),
        "find": Stats.of([c.model_call - c.stages["reference"] for c in calls]).to_dict(),
        "post_processing": Stats.of(post).to_dict(),
        "answer_total": Stats.of(total).to_dict(),
        "instances_returned": int(np.median([c.instances for c in calls])),
        "regions": int(np.median([c.regions for c in calls])),
    }


def run_scaling(plan: Plan, deadline: Deadline) -> dict:
    """The three sweeps of the plan, each in fresh processes; skipped parts say why."""
    from bench.answer_building import one_instance_cost

    results: dict = {"preset": plan.growth_preset, "precision": plan.service_precision, "sizes": {},
                     "sweep": None,
                     "answer_per_instance": {str(side): one_instance_cost(side, plan.growth_repeats + 1)
                                             for side in plan.answer_sides}}
    for size in plan.growth_sizes:
        results["sizes"][str(size)] = probe_within("size", {
            "preset": plan.growth_preset, "size": size, "repeats": plan.growth_repeats, "warmup": plan.warmup,
            "copies": plan.copies, "max_instances": plan.max_instances, "seed": plan.seed,
            "precision": plan.service_precision,
        }, deadline, PROBE_TIMEOUT_S)
    results["sweep"] = probe_within("instances", {
        "preset": plan.growth_preset, "size": native_size(plan.growth_preset), "counts": list(plan.instance_counts),
        "references": list(plan.reference_counts), "repeats": plan.growth_repeats, "warmup": plan.warmup,
        "seed": plan.seed, "precision": plan.service_precision,
    }, deadline, PROBE_TIMEOUT_S)
    return results


def plot_growth(scaling: dict, path: Path) -> Path | None:
    """Three panels (size, instances, references) as a PNG; None when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [(int(k), v) for k, v in scaling.get("sizes", {}).items() if "model_call" in v]
    sweep = scaling.get("sweep") or {}
    if not sizes and "instances" not in sweep:
        return None
    figure, axes = plt.subplots(1, 3, figsize=(13, 4))
    ax = axes[0]
    if sizes:
        xs = [s for s, _ in sizes]
        ax.plot(xs, [v["model_call"]["median"] * 1e3 for _, v in sizes], "o-", label="model call (cold)")
        ax.plot(xs, [sum(v["stages"][s]["median"] for s in POST_STAGES) * 1e3 for _, v in sizes], "s--",
                label="paste + RLE + regions")
        ax.set_xlabel("image long side = query size (px)")
        ax.set_ylabel("ms (median)")
        twin = ax.twinx()
        if all(v.get("peak_rss_mb") for _, v in sizes):
            twin.plot(xs, [v["peak_rss_mb"] for _, v in sizes], "^:", color="grey", label="peak RSS")
            twin.set_ylabel("peak RSS of the process (MB)")
        ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"size ({scaling.get('preset')})")
    ax = axes[1]
    if "instances" in sweep:
        counts = sorted(sweep["instances"], key=int)
        xs = [int(c) for c in counts]
        for key, style in (("find", "o-"), ("post_processing", "s--"), ("answer_total", "^-")):
            ax.plot(xs, [sweep["instances"][c][key]["median"] * 1e3 for c in counts], style, label=key)
        ax.set_xscale("log")
        ax.set_xlabel("instances returned (max_instances = N copies)")
        ax.set_ylabel("ms per warm answer (median)")
        ax.legend(fontsize=8)
    ax.set_title("instances")
    ax = axes[2]
    if "references" in sweep:
        ks = sorted(sweep["references"], key=int)
        positions = np.arange(len(ks))
        ax.bar(positions - 0.2, [sweep["references"][k]["reference"]["median"] * 1e3 for k in ks], 0.4,
               label="reference branch")
        ax.bar(positions + 0.2, [sweep["references"][k]["answer_total"]["median"] * 1e3 for k in ks], 0.4,
               label="warm answer total")
        ax.set_xticks(positions, [f"K={k}" for k in ks])
        ax.set_ylabel("ms (median)")
        ax.legend(fontsize=8)
    ax.set_title("reference boxes")
    figure.suptitle(f"siamese-assist: how cost grows (CPU, 2 cores, {scaling.get('precision', '?')})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
