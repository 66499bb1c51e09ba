"""The service under test: embedded Redis, the gunicorn backend and `python -m worker` processes, on loopback.

It is built from the same parts as `python -m stack` (`stack.services`), so the benchmark measures the real path
Label Studio takes: HTTP -> backend -> Redis queue -> worker -> Redis -> backend -> HTTP. Images are served to
the worker as Label Studio local files (`LOCAL_FILES_DOCUMENT_ROOT`), so fetching is a disk read, as on a
one-machine install. Everything binds 127.0.0.1 and is stopped on exit.

Every benchmark that needs the service starts it here: `running_service` (a scratch directory, started, stopped
and removed) with `forced_instances` (the settings that fix the work of every answer), or `BenchService` itself when
the scratch directory is shared with other files (`bench.runner`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.timing import stopwatch
from common.queues import connect, worker_alive_key
from stack.services import ChildProcess, EmbeddedRedis, backend_command, wait_for_http, worker_command

__all__ = ["LABEL", "LABEL_CONFIG", "BenchService", "forced_instances", "interactive_body", "output_controls",
           "running_service", "worker_env", "worker_precision"]

LOOPBACK = "127.0.0.1"
LABEL = "Object"
LABEL_CONFIG = f"""<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image" smart="true"><Label value="{LABEL}"/></RectangleLabels>
  <BrushLabels name="mask" toName="image"><Label value="{LABEL}"/></BrushLabels>
  <PolygonLabels name="poly" toName="image"><Label value="{LABEL}"/></PolygonLabels>
</View>"""
"""Boxes, brush masks and polygons for every suggestion: the most work the backend can be asked for."""

PROJECT = "1.1700000000"
BACKEND_START_S = 60.0
WORKER_START_S = 300.0
"""Loading paper-large and tracing its three stages takes about a minute on a busy 2-core machine."""
REQUEST_TIMEOUT_S = 180.0
_POLL_S = 0.2
_SCRUBBED_ENV = ("REDIS_URL", "CHECKPOINT", "MODEL_PRESET", "MODEL_SEED", "MODEL_PRECISION", "LABEL_STUDIO_URL",
                 "LABEL_STUDIO_API_KEY")


def output_controls() -> tuple:
    """The controls of `LABEL_CONFIG` as the worker and backend see them: box, brush and polygon."""
    from common.jobs import OutputControl

    return (OutputControl("box", "image", "rectanglelabels"), OutputControl("mask", "image", "brushlabels"),
            OutputControl("poly", "image", "polygonlabels"))


def worker_precision(setting: str) -> str:
    """MODEL_PRECISION for a benchmark worker: "float32" or "bfloat16" as given, "auto" as a worker on this machine
    would resolve it (benchmark workers always get an explicit precision, `worker_env`)."""
    from worker.runtime import cpu_flags, has_gpu, resolve_precision

    return resolve_precision(setting, cpu_flags(), has_gpu()) if setting == "auto" else setting


def forced_instances(count: int) -> dict[str, str]:
    """Service settings under which every answer holds `count` instances, whatever the weights: score threshold 0
    and `MAX_INSTANCES=count`; and an interactive timeout as long as the benchmark's own request timeout."""
    return {"SCORE_THRESHOLD": "0", "MAX_INSTANCES": str(count), "INTERACTIVE_TIMEOUT": f"{REQUEST_TIMEOUT_S:g}"}


def _epoch(stamp: datetime | None) -> float | None:
    """RQ's datetimes (naive means UTC) -> seconds since the epoch."""
    if stamp is None:
        return None
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def interactive_body(task_id: int, image_url: str, size: tuple[int, int], box) -> dict:
    """A Label Studio interactive /predict body: one task, one smart rectangle `box` (x1, y1, x2, y2 pixels)."""
    height, width = size
    x1, y1, x2, y2 = (float(v) for v in box)
    region = {
        "id": f"bench{task_id}", "type": "rectanglelabels", "from_name": "box", "to_name": "image",
        "original_width": width, "original_height": height, "image_rotation": 0, "origin": "manual",
        "value": {"x": 100 * x1 / width, "y": 100 * y1 / height, "width": 100 * (x2 - x1) / width,
                  "height": 100 * (y2 - y1) / height, "rotation": 0, "rectanglelabels": [LABEL]},
    }
    return {"tasks": [{"id": task_id, "data": {"image": image_url}}], "label_config": LABEL_CONFIG,
            "project": PROJECT, "params": {"context": {"result": [region]}}}


def worker_env(base: dict[str, str], checkpoint: Path, precision: str,
               extra: dict[str, str] | None = None) -> dict[str, str]:
    """A benchmark worker's environment: `base`, the checkpoint, an explicit MODEL_PRECISION, then `extra`.

    The precision is never left to "auto": the worker must compute in the precision of the in-process predictor
    it is compared with, whatever this machine's CPU would pick.

    Raises:
        ValueError: `precision` is not one of `bench.plan.PRECISION_TAGS`, or `extra` sets MODEL_PRECISION.
    """
    from bench.plan import PRECISION_TAGS

    if precision not in PRECISION_TAGS:
        raise ValueError(f"benchmark workers need an explicit precision, one of {sorted(PRECISION_TAGS)}; got "
                         f"{precision!r}")
    if "MODEL_PRECISION" in (extra or {}):
        raise ValueError("pass the worker's precision as `precision`, not in `extra`")
    return dict(base, CHECKPOINT=str(checkpoint), MODEL_PRECISION=precision, **(extra or {}))


@contextlib.contextmanager
def running_service(prefix: str, settings_env: dict[str, str]) -> Iterator[BenchService]:
    """A started `BenchService` in a new scratch directory (named with `prefix`), with `settings_env` for every
    child; on exit its workers, backend and Redis are stopped and the directory is removed."""
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    service = BenchService(scratch, settings_env)
    try:
        yield service.start()
    finally:
        service.stop()
        shutil.rmtree(scratch, ignore_errors=True)


class BenchService:
    """Start Redis and the backend; start and stop worker sets; send requests.

    Args:
        root: a scratch directory (Redis data, logs, local files, model dir).
        settings_env: service settings for every child (e.g. SCORE_THRESHOLD, MAX_INSTANCES).
    """

    def __init__(self, root: Path, settings_env: dict[str, str]):
        self.root = Path(root)
        self.files = self.root / "files"
        self.port = _free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self._redis: EmbeddedRedis | None = None
        self._backend: ChildProcess | None = None
        self.workers: list[ChildProcess] = []
        self._session = requests.Session()
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env.update(HOST=LOOPBACK, PORT=str(self.port), MODEL_DIR=str(self.root / "models"),
                   LOCAL_FILES_DOCUMENT_ROOT=str(self.files), TF_CPP_MIN_LOG_LEVEL="2", LOG_LEVEL="WARNING")
        env.update(settings_env)
        self.env = env
        self.connection = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> BenchService:
        self.files.mkdir(parents=True, exist_ok=True)
        self._redis = EmbeddedRedis(self.root / "redis" / "redis.db").start()
        self.env["REDIS_URL"] = self._redis.url
        self.connection = connect(self._redis.url)
        self._backend = ChildProcess("backend", backend_command(LOOPBACK, self.port, 1, 8), self.env,
                                     self.root / "logs" / "backend.log").start()
        wait_for_http(f"{self.base_url}/health", BACKEND_START_S, self._backend)
        return self

    def stop(self) -> None:
        self.stop_workers()
        if self._backend is not None:
            self._backend.stop()
            self._backend = None
        if self._redis is not None:
            self._redis.stop()
            self._redis = None
        self._session.close()

    def __enter__(self) -> BenchService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def backend_pid(self) -> int:
        return self._backend.pid if self._backend else 0

    def start_workers(self, checkpoint: Path, count: int, precision: str, env: dict[str, str] | None = None,
                      timeout: float = WORKER_START_S) -> list[ChildProcess]:
        """Start `count` workers serving `checkpoint`; return once every one has loaded, warmed up and polls."""
        self.launch_workers(checkpoint, count, precision, env)
        return self.wait_for_workers(timeout)

    def launch_workers(self, checkpoint: Path, count: int, precision: str,
                       env: dict[str, str] | None = None) -> list[ChildProcess]:
        """Start `count` workers serving `checkpoint` (replacing any running) without waiting for them."""
        self.stop_workers()
        child_env = worker_env(self.env, checkpoint, precision, env)
        for index in range(count):
            name = f"bench-worker-{index}-{os.getpid()}-{time.monotonic_ns()}"
            worker = ChildProcess(name, worker_command("--name", name), child_env,
                                  self.root / "logs" / f"worker-{index}.log")
            self.workers.append(worker.start())
        return self.workers

    def wait_for_workers(self, timeout: float = WORKER_START_S) -> list[ChildProcess]:
        """Block until every launched worker has loaded its model, warmed up and polls the queues.

        Raises:
            RuntimeError: a worker exited, or they were not ready within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while not all(self.connection.exists(worker_alive_key(w.name)) for w in self.workers):
            for worker in self.workers:
                if not worker.alive():
                    raise RuntimeError(f"{worker.name} exited with code {worker.process.returncode} while starting;"
                                       f" see {worker.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start within {timeout:.0f} s; see {self.root / 'logs'}")
            time.sleep(_POLL_S)
        return self.workers

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    # --- files and requests --------------------------------------------------------------------------------

    def add_file(self, name: str, data: bytes) -> str:
        """Store an image as a local file; returns the URL Label Studio would put in the task."""
        path = self.files / "bench" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"/data/local-files/?d=bench/{name}"

    def interactive(self, task_id: int, image_url: str, size: tuple[int, int], box) -> tuple[float, dict, dict]:
        """POST one interactive /predict; returns (wall seconds, the JSON answer, `job_phases` of its job).

        Raises:
            RuntimeError: any answer but 200 (with the backend's message).
        """
        body = interactive_body(task_id, image_url, size, box)
        sent = time.time()
        with stopwatch() as elapsed:
            response = self._session.post(f"{self.base_url}/predict", json=body, timeout=REQUEST_TIMEOUT_S)
            answer = response.json() if response.status_code == 200 else None
        received = time.time()
        if answer is None:
            raise RuntimeError(f"/predict answered HTTP {response.status_code}: {response.text[:300]}")
        job_id = (answer.get("jobs") or [{}])[0].get("id")
        return elapsed[0], answer, self.job_phases(job_id, sent, received) if job_id else {}

    def request(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        """One call of the backend's HTTP API, e.g. `request("POST", "/setup", {...})` (JSON body, if any)."""
        return self._session.request(method, f"{self.base_url}{path}", json=body, timeout=REQUEST_TIMEOUT_S)

    def job_phases(self, job_id: str, sent: float, received: float) -> dict[str, float]:
        """Where a request's time went outside the model, from RQ's own timestamps (same machine, same clock).

        Returns seconds: `to_queue` (HTTP in, parsing, enqueue), `queue_wait` (until a worker started it),
        `in_worker` (the job, including RLE and storing the result), `back` (result pickup, regions, HTTP out).
        """
        from rq.job import Job

        from common.queues import SERIALIZER

        job = Job.fetch(job_id, connection=self.connection, serializer=SERIALIZER)
        stamps = [_epoch(job.enqueued_at), _epoch(job.started_at), _epoch(job.ended_at)]
        if None in stamps:
            return {}
        enqueued, started, ended = stamps
        return {"to_queue": enqueued - sent, "queue_wait": started - enqueued, "in_worker": ended - started,
                "back": received - ended}
