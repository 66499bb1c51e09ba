"""Batch pre-annotation throughput (images per second) with 1 and 2 worker processes, and the scaling ratio.

Batch jobs are enqueued on the `batch` queue exactly as the backend's /predict does for "Retrieve Predictions"
(`worker.jobs.batch_job`, one job per task, one label with one stored exemplar), then awaited with the backend's
own `JobClient`. Throughput = images / wall time from the first enqueue to the last result. Each worker runs with
a small feature cache (`Plan.cache_mb`) and its RSS is sampled after every round: with more distinct images than
fit in the cache, a flat RSS shows the cache bound holds. Workers compute in `Plan.service_precision` (explicit:
the runner resolves "auto" before the run).
"""

from __future__ import annotations

import logging
import time

from bench.memory import peak_rss_mb, rss_mb
from bench.models import CheckpointStore
from bench.plan import Plan
from bench.scenes import encode_jpeg, make_scene
from bench.service import LABEL, BenchService
from bench.timing import Deadline, Stats, ratio

__all__ = ["BatchRounds", "batch_payload", "run_throughput"]

BATCH_JOB = "worker.jobs.batch_job"
JOB_TIMEOUT_S = 600
ROUND_TIMEOUT_S = 600.0
ROUNDS = 2
"""Timed rounds per worker count (each round = `Plan.throughput_images` distinct images)."""

log = logging.getLogger(__name__)


def batch_payload(task_id: int, image_url: str, exemplar_url: str, exemplar_box, max_instances: int) -> dict:
    """A `common.jobs.BatchRequest` dict: pre-annotate one task with one exemplar of one label."""
    from common.jobs import (
        BatchRequest,
        Exemplar,
        ImageSource,
        LabelExemplars,
        OutputControl,
        Thresholds,
    )

    exemplar = Exemplar(image=ImageSource(url=exemplar_url), boxes=(tuple(float(v) for v in exemplar_box),))
    label = LabelExemplars(label=LABEL, exemplars=(exemplar,),
                           outputs=(OutputControl("box", "image", "rectanglelabels"),))
    return BatchRequest(project_id=1, task_id=task_id, image=ImageSource(url=image_url, task_id=task_id),
                        labels=(label,), thresholds=Thresholds(0.0, 0.5, max_instances)).to_dict()


class BatchRounds:
    """Timed rounds of batch jobs, each on new images, against one stored exemplar (one label, one box).

    Args:
        service: the running service (its workers serve the jobs).
        image_shape, copies: `(H, W)` of the generated images and the objects in each (`bench.scenes`).
        max_instances: instances per job.
        seed: the exemplar's scene seed is `seed + 7`; task ids (and so image seeds) count up from 10000.
    """

    def __init__(self, service: BenchService, image_shape: tuple[int, int], copies: int, max_instances: int,
                 seed: int):
        from backend.dispatch import JobClient

        self.service, self.image_shape, self.copies, self.max_instances = service, image_shape, copies, max_instances
        self.exemplar = make_scene(*image_shape, copies, seed=seed + 7)
        self.exemplar_url = service.add_file("batch-exemplar.jpg", encode_jpeg(self.exemplar.image))
        self.client = JobClient(service.connection)
        self._task_ids = iter(range(10_000, 1_000_000))

    def run(self, count: int, tag: str) -> float:
        """Seconds from the first enqueue of `count` jobs on new images to the last result (image creation
        included, a few ms per image)."""
        from common.queues import QueueName

        jobs = []
        started = time.perf_counter()
        for _ in range(count):
            task_id = next(self._task_ids)
            scene = make_scene(*self.image_shape, self.copies, seed=task_id)
            url = self.service.add_file(f"batch-{tag}-{task_id}.jpg", encode_jpeg(scene.image))
            payload = batch_payload(task_id, url, self.exemplar_url, self.exemplar.boxes[0], self.max_instances)
            jobs.append(self.client.enqueue(QueueName.BATCH, BATCH_JOB, payload, job_timeout=JOB_TIMEOUT_S,
                                            result_ttl=JOB_TIMEOUT_S))
        for job in jobs:
            self.client.wait(job, max(1.0, ROUND_TIMEOUT_S - (time.perf_counter() - started)),
                             cancel_on_timeout=True)
        return time.perf_counter() - started


def run_throughput(plan: Plan, service: BenchService, store: CheckpointStore, deadline: Deadline) -> dict:
    """Images per second for each worker count of the plan, the scaling ratio and the workers' RSS series."""
    preset, precision = plan.throughput_preset, plan.service_precision
    checkpoint = store.ensure(preset, {}, plan.seed, precision)
    batches = BatchRounds(service, plan.image_shape, plan.copies, plan.max_instances, plan.seed)

    results: dict = {"preset": preset, "precision": precision, "images_per_round": plan.throughput_images,
                     "cache_mb": plan.cache_mb, "workers": {}}
    for workers in plan.worker_counts:
        if deadline.expired():
            results["workers"][str(workers)] = {"skipped": "time budget"}
            continue
        started_workers = service.start_workers(checkpoint, workers, precision,
                                                env={"FEATURE_CACHE_MB": str(plan.cache_mb)})
        # Image creation is inside the timed rounds for every worker count alike (a few ms per image).
        batches.run(workers, f"warmup{workers}")
        rounds, rss = [], []
        for round_index in range(ROUNDS if plan.repeats > 1 else 1):
            seconds = batches.run(plan.throughput_images, f"w{workers}r{round_index}")
            rounds.append(plan.throughput_images / seconds)
            rss.append([_round(rss_mb(w.pid)) for w in started_workers])
            if deadline.expired():
                break
        results["workers"][str(workers)] = {
            "images_per_s": Stats.of(rounds).to_dict(3),
            "worker_rss_mb_after_each_round": rss,
            "worker_peak_rss_mb": [_round(peak_rss_mb(w.pid)) for w in started_workers],
        }
        service.stop_workers()
    one, two = (results["workers"].get(k, {}).get("images_per_s", {}).get("median") for k in ("1", "2"))
    results["scaling_2_over_1"] = None if one is None or two is None else round(ratio(two, one), 3)
    return results


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
