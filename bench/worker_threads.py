"""TensorFlow threads per worker (WORKER_THREADS): batch throughput and interactive latency, default vs pinned.

Each TensorFlow process uses every core by default, so two workers on one machine compete for the same cores.
This runs the real service (embedded Redis, gunicorn backend, `python -m worker` processes) on the shipped `mobile`
checkpoint and measures, alternating the settings round by round so load hits them alike:

- batch pre-annotation throughput (images / s) with 1 and with 2 workers, at WORKER_THREADS=0 (TensorFlow's
  default) and at cores / workers;
- with 1 worker, the cold interactive latency end to end (30 instances forced), so the price of fewer threads for
  one annotator is on the same page.

    python -m bench.worker_threads                         # 2 rounds, bfloat16, about 5 minutes
    python -m bench.worker_threads --rounds 3 --json out.json --markdown out.md
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.publish import add_output_arguments, publish
from bench.scenes import encode_jpeg, make_scene
from bench.service import forced_instances, running_service
from bench.throughput import BatchRounds
from bench.timing import Stats, ratio
from worker.runtime import DEFAULT_CHECKPOINT

__all__ = ["measure", "render_markdown"]

IMAGE_SHAPE = (384, 512)
COPIES = 12
INSTANCES = 30
IMAGES_PER_ROUND = 16
COLD_REQUESTS = 4
"""Interactive requests on new images per round (1 worker only)."""


def _settings(cores: int) -> list[tuple[str, int, int]]:
    """`(name, workers, WORKER_THREADS)` of every measured setting."""
    return [(f"{workers} worker(s), WORKER_THREADS={threads}", workers, threads)
            for workers in (1, 2) for threads in (0, max(1, cores // workers))]


def measure(rounds: int = 2, precision: str = "bfloat16", checkpoint: Path = DEFAULT_CHECKPOINT) -> dict:
    """Images / s and (1 worker) cold seconds per setting, plus the ratios of pinned to default."""
    cores = os.cpu_count() or 1
    settings = _settings(cores)
    samples: dict = {name: {"images_per_s": [], "cold_s": []} for name, _, _ in settings}
    with running_service("siamese-threads-", forced_instances(INSTANCES)) as service:
        batches = BatchRounds(service, IMAGE_SHAPE, COPIES, INSTANCES, seed=0)
        task_ids = iter(range(1_000_000, 2_000_000))  # interactive tasks, apart from the batch rounds' ids
        for _ in range(rounds):
            for name, workers, threads in settings:
                service.start_workers(checkpoint, workers, precision, {"WORKER_THREADS": str(threads)})
                batches.run(2 * workers, "warmup")  # every worker has traced its functions
                samples[name]["images_per_s"].append(IMAGES_PER_ROUND / batches.run(IMAGES_PER_ROUND, "timed"))
                for _ in range(COLD_REQUESTS if workers == 1 else 0):
                    task_id = next(task_ids)
                    scene = make_scene(*IMAGE_SHAPE, COPIES, seed=task_id)
                    url = service.add_file(f"cold-{task_id}.jpg", encode_jpeg(scene.image))
                    seconds, _, _ = service.interactive(task_id, url, IMAGE_SHAPE, scene.boxes[0])
                    samples[name]["cold_s"].append(seconds)
                service.stop_workers()
    rows = {name: {key: Stats.of(values).to_dict(4) for key, values in series.items() if values}
            for name, series in samples.items()}
    default_1, pinned_1, default_2, pinned_2 = (rows[name]["images_per_s"]["median"] for name, _, _ in settings)
    return {"cores": cores, "precision": precision, "rounds": rounds, "images_per_round": IMAGES_PER_ROUND,
            "rows": rows, "ratios": {"pinned_over_default_1_worker": round(ratio(pinned_1, default_1), 3),
                                     "pinned_over_default_2_workers": round(ratio(pinned_2, default_2), 3),
                                     "two_over_one_default": round(ratio(default_2, default_1), 3),
                                     "two_over_one_pinned": round(ratio(pinned_2, pinned_1), 3)}}


def render_markdown(result: dict) -> str:
    height, width = IMAGE_SHAPE
    lines = [f"{result['cores']} cores, `mobile` checkpoint in {result['precision']}, {width}x{height} images, "
             f"{INSTANCES} instances forced, {result['rounds']} rounds of {result['images_per_round']} batch images "
             "per setting; median (min-max).", "",
             "| setting | batch images / s | cold interactive, end to end (ms) |", "|---|---|---|"]
    for name, row in result["rows"].items():
        ips = row["images_per_s"]
        cold = row.get("cold_s")
        cold_text = (f"{cold['median'] * 1e3:.0f} ({cold['min'] * 1e3:.0f}-{cold['max'] * 1e3:.0f})"
                     if cold else "-")
        lines.append(f"| {name} | {ips['median']:.2f} ({ips['min']:.2f}-{ips['max']:.2f}) | {cold_text} |")
    r = result["ratios"]
    lines += ["", f"Pinned / default throughput: 1 worker **{r['pinned_over_default_1_worker']:.2f}**, 2 workers "
              f"**{r['pinned_over_default_2_workers']:.2f}**. Scaling 2 / 1 workers: default "
              f"{r['two_over_one_default']:.2f}, pinned {r['two_over_one_pinned']:.2f}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_threads", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", default="bfloat16", choices=["float32", "bfloat16"])
    args = add_output_arguments(parser).parse_args(argv)
    result = measure(args.rounds, args.precision)
    publish(result, render_markdown(result), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
