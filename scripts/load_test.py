"""Bounded load test of the embedded stack on 127.0.0.1: held load, latency percentiles, priority, queue bound.

    MODEL_PRESET=tiny python scripts/load_test.py [--interactive 120] [--concurrency 8] [--batch-tasks 200]

Starts `python -m stack` (embedded Redis, WORKERS worker processes, gunicorn) on a free loopback port with the
`tiny` preset, and a minimal Label Studio stand-in that receives the predictions the workers post for batch
tasks the backend stopped waiting for. Then, with `/health` probed every `HEALTH_PERIOD_S` throughout:

1. interactive alone: `--interactive` requests, `--concurrency` at a time;
2. interactive during batch: one batch /predict of `--batch-tasks` tasks, and the same interactive load at once;
   every batch task must come back, in the /predict answer or posted to Label Studio (nothing lost);
3. burst past the bound: `BURST_FACTOR x MAX_QUEUED_INTERACTIVE` interactive requests at once; those past the
   bound must be answered 503 with Retry-After at once.

Every phase is bounded in request count and in time (`--time-limit` overall); the stack is stopped at the end.
Images are `data:` PNG URLs of synthetic scenes (no file or network fetch: the load is the model and the queue).
Prints a JSON report (and writes it to `--out` when given).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import requests
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from stack.services import ChildProcess, wait_for_http  # noqa: E402 (needs the repository on sys.path)

LOOPBACK = "127.0.0.1"
HEALTH_PERIOD_S = 0.1
HEALTH_TIMEOUT_S = 2.0
REQUEST_TIMEOUT_S = 120.0
STACK_START_TIMEOUT_S = 180.0
STACK_STOP_GRACE_S = 60.0
DEFAULT_TIME_LIMIT_S = 900.0
MAX_QUEUED_INTERACTIVE = 8
BURST_FACTOR = 4
BATCH_BUDGET_S = 10
IMAGE_SIZE = (240, 320)
DISTINCT_IMAGES = 12
PROJECT = "1.1700000000"
LABEL = "Object"
LABEL_CONFIG = (f'<View><Image name="image" value="$image"/><RectangleLabels name="box" toName="image" smart="true">'
                f'<Label value="{LABEL}"/></RectangleLabels></View>')
REFERENCE_PERCENT = {"x": 10.0, "y": 10.0, "width": 15.0, "height": 20.0}


def scene(seed: int) -> str:
    """A data: URL of a PNG with a few same-coloured objects (the first one where REFERENCE_PERCENT points)."""
    rng = np.random.default_rng(seed)
    height, width = IMAGE_SIZE
    image = np.full((height, width, 3), 180 + seed % 40, np.uint8)
    boxes = [(int(0.10 * width), int(0.10 * height))] + [
        (int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))) for _ in range(4)]
    for x, y in boxes:
        image[y:y + int(0.2 * height), x:x + int(0.15 * width)] = (200, 40, 40)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


class PredictionSink:
    """Label Studio's `POST /api/predictions/`, on loopback: records which tasks the workers posted."""

    def __init__(self):
        self.tasks: set[int] = set()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if self.path.rstrip("/") == "/api/predictions":
                    with sink._lock:
                        sink.tasks.add(int(body.get("task", -1)))
                    payload = json.dumps({"id": len(sink.tasks)}).encode()
                    self.send_response(201)
                else:
                    payload = b"{}"
                    self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def posted(self) -> set[int]:
        with self._lock:
            return set(self.tasks)

    def __enter__(self) -> PredictionSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class HealthProbe:
    """GET /health every HEALTH_PERIOD_S in a thread; latencies per phase."""

    def __init__(self, base: str):
        self.base = base
        self.phase = "start"
        self.samples: dict[str, list[float]] = {}
        self.failures: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.wait(HEALTH_PERIOD_S):
            started = time.perf_counter()
            try:
                ok = session.get(f"{self.base}/health", timeout=HEALTH_TIMEOUT_S).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                self.samples.setdefault(self.phase, []).append(time.perf_counter() - started)
            else:
                self.failures[self.phase] = self.failures.get(self.phase, 0) + 1

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=HEALTH_TIMEOUT_S + 1)


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    array = np.asarray(values) * 1000.0
    return {"count": len(values), "p50_ms": round(float(np.percentile(array, 50)), 1),
            "p95_ms": round(float(np.percentile(array, 95)), 1), "p99_ms": round(float(np.percentile(array, 99)), 1),
            "max_ms": round(float(array.max()), 1)}


def interactive_body(task_id: int, image: str) -> dict:
    region = {"id": f"r{task_id}", "type": "rectanglelabels", "from_name": "box", "to_name": "image",
              "origin": "manual", "original_width": IMAGE_SIZE[1], "original_height": IMAGE_SIZE[0],
              "value": dict(REFERENCE_PERCENT, rotation=0, rectanglelabels=[LABEL])}
    return {"tasks": [{"id": task_id, "data": {"image": image}}], "project": PROJECT, "label_config": LABEL_CONFIG,
            "params": {"context": {"result": [region]}}}


def run_interactive(base: str, images: list[str], count: int, concurrency: int, deadline: float) -> dict:
    """`count` interactive requests, `concurrency` at a time, none started after `deadline`."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    retry_after: set[str] = set()
    lock = threading.Lock()
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=max(concurrency, 10)))

    def one(index: int) -> None:
        if time.monotonic() > deadline:
            status = "skipped (time limit)"
        else:
            started = time.perf_counter()
            try:
                answer = session.post(f"{base}/predict", json=interactive_body(10_000 + index,
                                                                                 images[index % len(images)]),
                                      timeout=REQUEST_TIMEOUT_S)
                status = str(answer.status_code)
                if answer.status_code == 200:
                    with lock:
                        latencies.append(time.perf_counter() - started)
                elif "Retry-After" in answer.headers:
                    with lock:
                        retry_after.add(answer.headers["Retry-After"])
            except requests.RequestException as error:
                status = type(error).__name__
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    return {"requests": count, "concurrency": concurrency, "statuses": statuses,
            "retry_after_s": sorted(retry_after), "wall_s": round(elapsed, 2),
            "held_rps": round(len(latencies) / elapsed, 2) if elapsed else 0.0, "latency": percentiles(latencies)}


def record_exemplar(base: str, image: str) -> None:
    region = {"id": "ex1", "type": "rectanglelabels", "from_name": "box", "to_name": "image",
              "original_width": IMAGE_SIZE[1], "original_height": IMAGE_SIZE[0],
              "value": dict(REFERENCE_PERCENT, rotation=0, rectanglelabels=[LABEL])}
    body = {"action": "ANNOTATION_CREATED", "project": {"id": 1, "label_config": LABEL_CONFIG},
            "task": {"id": 1, "data": {"image": image}},
            "annotation": {"id": 1, "result": [region], "was_cancelled": False,
                           "updated_at": "2026-01-01T00:00:00Z"}}
    answer = requests.post(f"{base}/webhook", json=body, timeout=REQUEST_TIMEOUT_S)
    answer.raise_for_status()


def run_batch(base: str, images: list[str], tasks: int, sink: PredictionSink, deadline: float,
              report: dict) -> None:
    """One batch /predict of `tasks` tasks; then wait (until `deadline`) for the posted rest. Fills `report`."""
    task_ids = list(range(100_000, 100_000 + tasks))
    body = {"tasks": [{"id": t, "data": {"image": images[t % len(images)]}} for t in task_ids],
            "project": PROJECT, "label_config": LABEL_CONFIG}
    started = time.perf_counter()
    answer = requests.post(f"{base}/predict", json=body, timeout=REQUEST_TIMEOUT_S)
    report["predict_status"] = answer.status_code
    report["predict_wall_s"] = round(time.perf_counter() - started, 2)
    results = answer.json().get("results", []) if answer.status_code == 200 else []
    answered = {t for t, entry in zip(task_ids, results, strict=False) if isinstance(entry, dict)}
    report["answered_in_response"] = len(answered)
    while time.monotonic() < deadline and len(answered | sink.posted()) < tasks:
        time.sleep(0.5)
    delivered = answered | sink.posted()
    report["posted_later"] = len(sink.posted() & set(task_ids))
    report["delivered"] = len(delivered & set(task_ids))
    report["lost"] = tasks - report["delivered"]
    report["all_delivered_s"] = round(time.perf_counter() - started, 2)
    report["throughput_tasks_per_s"] = round(report["delivered"] / report["all_delivered_s"], 2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for_workers(base: str, count: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/metrics", timeout=HEALTH_TIMEOUT_S).json().get("workers", 0) >= count:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{count} worker(s) did not come up within {STACK_START_TIMEOUT_S:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactive", type=int, default=120, help="interactive requests per phase")
    parser.add_argument("--concurrency", type=int, default=MAX_QUEUED_INTERACTIVE, help="concurrent clients")
    parser.add_argument("--batch-tasks", type=int, default=200, help="tasks in the one batch /predict")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the stack")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, help="overall seconds")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.time_limit

    images = [scene(seed) for seed in range(DISTINCT_IMAGES)]
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    var = Path(tempfile.mkdtemp(prefix="load-test-"))
    report: dict = {"preset": os.environ.get("MODEL_PRESET", "tiny"), "workers": args.workers,
                    "cpus": os.cpu_count(), "max_queued_interactive": MAX_QUEUED_INTERACTIVE}
    with PredictionSink() as sink:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CHECKPOINT"}}
        env.update(HOST=LOOPBACK, PORT=str(port), MODEL_PRESET=env.get("MODEL_PRESET", "tiny"), MODEL_SEED="0",
                   MODEL_DIR=str(var / "models"), LABEL_STUDIO_URL=sink.url, LABEL_STUDIO_API_KEY="load-test",
                   BATCH_BUDGET=str(BATCH_BUDGET_S), MAX_QUEUED_INTERACTIVE=str(MAX_QUEUED_INTERACTIVE),
                   THREADS=str(max(16, BURST_FACTOR * MAX_QUEUED_INTERACTIVE + 4)), TRAIN_EVERY="0",
                   SCORE_THRESHOLD="0.0", TF_CPP_MIN_LOG_LEVEL="2", LOG_LEVEL="WARNING")
        stack = ChildProcess("stack", [sys.executable, "-m", "stack", "--var", str(var), "--workers",
                                       str(args.workers)], env, var / "stack.log")
        stack.start()
        try:
            wait_for_http(f"{base}/health", STACK_START_TIMEOUT_S, stack)
            wait_for_workers(base, args.workers, time.monotonic() + STACK_START_TIMEOUT_S)
            record_exemplar(base, images[0])
            with HealthProbe(base) as health:
                health.phase = "interactive"
                report["interactive_alone"] = run_interactive(base, images, args.interactive, args.concurrency,
                                                              deadline)
                health.phase = "interactive_during_batch"
                batch: dict = {"tasks": args.batch_tasks}
                batch_thread = threading.Thread(target=run_batch, daemon=True,
                                                args=(base, images, args.batch_tasks, sink, deadline, batch))
                batch_thread.start()
                time.sleep(1.0)  # let the batch request enqueue its jobs first
                depth = requests.get(f"{base}/metrics", timeout=HEALTH_TIMEOUT_S).json()["queues"]["batch"]
                report["interactive_during_batch"] = run_interactive(base, images, args.interactive,
                                                                     args.concurrency, deadline)
                report["interactive_during_batch"]["batch_queue_depth_at_start"] = depth
                health.phase = "batch_drain"
                batch_thread.join(timeout=max(0.0, deadline - time.monotonic()))
                report["batch"] = batch
                health.phase = "burst"
                burst = BURST_FACTOR * MAX_QUEUED_INTERACTIVE
                report["burst_past_bound"] = run_interactive(base, images, burst, burst, deadline)
            report["health"] = {phase: {**percentiles(values), "failures": health.failures.get(phase, 0)}
                                for phase, values in health.samples.items()}
            report["metrics_at_end"] = requests.get(f"{base}/metrics", timeout=HEALTH_TIMEOUT_S).json()
        finally:
            report["stack_exit_code"] = stack.stop(grace=STACK_STOP_GRACE_S)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    lost = report.get("batch", {}).get("lost")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
