"""Interactive latency end to end (HTTP -> backend -> queue -> worker -> response), cold and warm, side by side
with the direct in-process model call on the same images and the same weights.

For each preset, query size and precision: one worker serves a checkpoint of the in-process model, in the same
precision (MODEL_PRECISION is set explicitly). Each repeat uses a new image (cold: nothing cached) and then a
second box on the same image (warm: the worker's feature cache holds its backbone features), over HTTP, and the
same two calls in-process (`bench.model_latency`). Interleaving the four measurements repeat by repeat keeps the
ratios fair on a noisy shared machine. Score threshold 0 and a fixed instance limit make the number of detections
per request independent of the weights (`bench.models` says which each preset has). The precisions of one
configuration use the same weights and the same images, one right after the other, so their ratio
(`bf16_over_fp32_*`) compares precision alone.
"""

from __future__ import annotations

import gc
import logging
import zlib
from collections.abc import Callable

from bench.memory import peak_rss_mb
from bench.model_latency import DirectPipeline, summarize_calls
from bench.models import CheckpointStore, build_predictor, config_label
from bench.plan import Plan
from bench.scenes import encode_jpeg, make_scene
from bench.service import BenchService
from bench.timing import Deadline, Stats, ratio

__all__ = ["add_precision_ratios", "image_seed", "release_models", "run_config", "run_interactive"]

WORKER_TIMING_KEYS = ("fetch_decode_s", "encode_image_s", "reference_and_heads_s", "total_s")
"""What the worker reports per job (`worker.jobs.interactive_job`)."""
ANSWER_STAGES = ("decode", "rle", "regions_box", "regions_brush", "regions_polygon")
"""Work outside the model call that every answer needs (the direct pipeline times it too)."""
PHASES = ("to_queue", "queue_wait", "in_worker", "back")
"""A request's phases from RQ's timestamps (`bench.service.BenchService.job_phases`)."""

log = logging.getLogger(__name__)


def run_interactive(plan: Plan, service: BenchService, store: CheckpointStore, deadline: Deadline) -> dict:
    """Every (preset, query size, precision) of the plan, labelled e.g. `mobile@512 bf16`; a configuration that
    does not fit the budget is marked skipped."""
    results = {}
    for preset, overrides, precision in plan.interactive_configs():
        label = config_label(preset, overrides, precision)
        if deadline.expired():
            results[label] = {"skipped": "time budget"}
            continue
        try:
            results[label] = run_config(plan, service, store, preset, overrides, precision, deadline)
        except Exception as error:  # one broken configuration must not lose the others' numbers
            log.exception("interactive %s failed", label)
            results[label] = {"error": f"{type(error).__name__}: {error}"}
        finally:
            release_models()
    add_precision_ratios(results)
    return results


def add_precision_ratios(results: dict) -> None:
    """Put bfloat16 / float32 ratios (direct cold and warm, end to end cold) into each bfloat16 configuration's
    `ratios`, where the float32 run of the same preset and size was measured too."""
    measured = {(r["preset"], r["image_size"], r["precision"]): r for r in results.values()
                if "ratios" in r and "precision" in r}
    for (preset, size, precision), bf16 in measured.items():
        fp32 = measured.get((preset, size, "float32"))
        if precision != "bfloat16" or fp32 is None:
            continue
        for kind in ("cold", "warm"):
            bf16["ratios"][f"bf16_over_fp32_direct_{kind}"] = _round(ratio(
                bf16["direct"][kind]["model_call"]["median"], fp32["direct"][kind]["model_call"]["median"]))
        bf16["ratios"]["bf16_over_fp32_e2e_cold"] = _round(ratio(bf16["end_to_end"]["cold"]["median"],
                                                                 fp32["end_to_end"]["cold"]["median"]))


def run_config(plan: Plan, service: BenchService, store: CheckpointStore, preset: str, overrides: dict,
               precision: str, deadline: Deadline) -> dict:
    """Cold and warm, end to end and direct, for one configuration in one precision (the worker's and the
    in-process predictor's). Returns medians, ranges, ratios, RSS."""
    log.info("interactive %s: building the model", config_label(preset, overrides, precision))
    predictor = build_predictor(preset, overrides, plan.seed, precision)
    checkpoint = store.path_for(predictor)
    worker = service.launch_workers(checkpoint, 1, precision)[0]
    direct = DirectPipeline(predictor, plan.max_instances)
    height, width = plan.image_shape
    images = []
    for index in range(plan.warmup + plan.repeats):
        # The same images in every precision (the seed leaves the precision out).
        scene = make_scene(height, width, plan.copies, seed=image_seed(plan.seed, config_label(preset, overrides),
                                                                       index))
        data = encode_jpeg(scene.image)
        url = service.add_file(f"{predictor.version}-{index}.jpg", data)
        images.append((data, url, scene.boxes[0], scene.boxes[1]))

    e2e = {"cold": [], "warm": []}
    job_phases = {"cold": [], "warm": []}
    worker_timings = {"cold": [], "warm": [], "hits": []}
    region_counts = []
    direct_calls = {"cold": [], "warm": []}
    # In-process warm-up (tracing every stage) overlaps the worker's loading; nothing is recorded yet.
    for data, _, cold_box, warm_box in images[: plan.warmup]:
        _, query, image = direct.cold(data, cold_box)
        direct.warm(query, image, warm_box, regions=False)
        direct.backbone_only(image)
        direct.backbone_fpn_only(image)
    service.wait_for_workers()
    last_image = None
    for index, (data, url, cold_box, warm_box) in enumerate(images):
        record = index >= plan.warmup
        for kind, box in (("cold", cold_box), ("warm", warm_box)):
            seconds, answer, phases = service.interactive(1000 + index, url, (height, width), box)
            job = answer.get("jobs", [{}])[0]
            if record:
                e2e[kind].append(seconds)
                job_phases[kind].append(phases)
                worker_timings[kind].append(job.get("timings") or {})
                worker_timings["hits"].append((kind, bool(job.get("feature_cache_hit"))))
                region_counts.append(len(answer["results"][0]["result"]))
        if not record:
            continue  # the in-process warm-up already ran
        times, query, image = direct.cold(data, cold_box)
        direct_calls["cold"].append(times)
        direct_calls["warm"].append(direct.warm(query, image, warm_box, regions=False))
        last_image = image
        if deadline.expired():
            break

    floors = {
        "backbone_body": _floor(lambda: direct.backbone_only(last_image), plan.repeats, deadline),
        "backbone_fpn": _floor(lambda: direct.backbone_fpn_only(last_image), plan.repeats, deadline),
    }
    worker_peak = peak_rss_mb(worker.pid)
    service.stop_workers()
    cold_direct = summarize_calls(direct_calls["cold"])
    warm_direct = summarize_calls(direct_calls["warm"])
    e2e_stats = {kind: Stats.of(values).to_dict() for kind, values in e2e.items()}
    worker_stats = {
        kind: {key: Stats.of([t[key] for t in worker_timings[kind] if key in t]).to_dict()
               for key in WORKER_TIMING_KEYS if any(key in t for t in worker_timings[kind])}
        for kind in ("cold", "warm")
    }
    cold_e2e, warm_e2e = e2e_stats["cold"]["median"], e2e_stats["warm"]["median"]
    cold_model, warm_model = cold_direct["model_call"]["median"], warm_direct["model_call"]["median"]
    return {
        "preset": preset,
        "overrides": overrides,
        "precision": precision,
        "image_size": predictor.config.image_size,
        "conditioning": predictor.config.conditioning,
        "weights": "seeded random" if predictor.card is None else predictor.card.version,
        "image_shape": list(plan.image_shape),
        "repeats": len(e2e["cold"]),
        "end_to_end": e2e_stats,
        "worker_timings": worker_stats,
        "job_phases": {kind: {key: Stats.of([p[key] for p in job_phases[kind] if key in p]).to_dict()
                              for key in PHASES if any(key in p for p in job_phases[kind])}
                       for kind in ("cold", "warm")},
        "feature_cache_hits": {kind: sum(hit for k, hit in worker_timings["hits"] if k == kind)
                               for kind in ("cold", "warm")},
        "regions_per_answer": int(sorted(region_counts)[len(region_counts) // 2]) if region_counts else 0,
        "direct": {"cold": cold_direct, "warm": warm_direct},
        "floors": floors,
        "trace_counts": direct.trace_counts(),
        "ratios": {
            "warm_over_cold": _round(ratio(warm_e2e, cold_e2e)),
            "e2e_over_direct_cold": _round(ratio(cold_e2e, cold_model)),
            "e2e_over_direct_warm": _round(ratio(warm_e2e, warm_model)),
            "direct_warm_over_cold": _round(ratio(warm_model, cold_model)),
            "e2e_over_direct_with_answer_cold": _round(ratio(cold_e2e, cold_model + sum(
                cold_direct["stages"][k]["median"] for k in ANSWER_STAGES if k in cold_direct["stages"]))),
            "full_over_backbone_body": _round(ratio(cold_model, floors["backbone_body"]["median"])),
            "full_over_backbone_fpn": _round(ratio(cold_model, floors["backbone_fpn"]["median"])),
        },
        "feature_mb_per_image": round(_encoded_nbytes(predictor, last_image) / 2**20, 2),
        "worker_peak_rss_mb": None if worker_peak is None else round(worker_peak, 1),
    }


def _floor(seconds_of: Callable[[], float], repeats: int, deadline: Deadline) -> dict:
    """Statistics of what `seconds_of()` reports (the network forward alone, without preparing its input), after
    one unrecorded call; fewer repeats once `deadline` expired."""
    seconds_of()
    samples = []
    for _ in range(repeats):
        samples.append(seconds_of())
        if deadline.expired():
            break
    return Stats.of(samples).to_dict()


def image_seed(seed: int, name: str, index: int) -> int:
    """A reproducible per-image seed (Python's `hash` of a str changes between processes)."""
    return zlib.crc32(f"{seed}/{name}/{index}".encode())


def release_models() -> None:
    """Drop Keras' global state and collect garbage between configurations (bounded memory over a run)."""
    import keras

    gc.collect()
    keras.backend.clear_session()
    gc.collect()


def _encoded_nbytes(predictor, image) -> int:
    return int(predictor.encode_image(image).nbytes)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
