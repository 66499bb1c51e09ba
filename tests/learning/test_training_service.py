"""Learning end to end with real parts: Flask app -> real Redis -> real `python -m worker` processes (tiny preset).

A handful of synthetic tile images are annotated through webhooks, `POST /train` fine-tunes, the new version is
listed with its metrics, workers switch to it without a restart, rollback switches back, and a worker killed
mid-training leaves the active version untouched and the job failed with the reason.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from learning_helpers import annotation_event, stamp, tile_image, tile_result
from PIL import Image

from backend.app import create_app
from common.model_registry import ModelRegistry
from common.queues import connect, worker_alive_key
from common.settings import Settings
from stack.services import ChildProcess, EmbeddedRedis, worker_command

pytestmark = pytest.mark.slow

BASE_VERSION = "tiny-untrained"
_WORKER_START_TIMEOUT_S = 120.0
_TRAINING_TIMEOUT_S = 300.0
_TASKS = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> str:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.db").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def files_root(tmp_path_factory) -> Path:
    """LOCAL_FILES_DOCUMENT_ROOT with images/t<task>.png."""
    root = tmp_path_factory.mktemp("files")
    (root / "images").mkdir()
    for task in _TASKS:
        Image.fromarray(tile_image(task)).save(root / "images" / f"t{task}.png")
    return root


@pytest.fixture(scope="module")
def env(redis_url, files_root, tmp_path_factory) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"CHECKPOINT", "LABEL_STUDIO_URL",
                                                                  "LABEL_STUDIO_API_KEY"}}
    environ.update(REDIS_URL=redis_url, MODEL_PRESET="tiny", MODEL_SEED="0", LOCAL_FILES_DOCUMENT_ROOT=str(files_root),
                   TF_CPP_MIN_LOG_LEVEL="2", LOG_LEVEL="INFO", MODEL_DIR=str(tmp_path_factory.mktemp("models")),
                   TRAIN_MAX_STEPS="4", TRAIN_TIME_BUDGET="120", TRAIN_HOLDOUT_FRACTION="0.25",
                   TRAIN_ACTIVATION="always", TRAIN_EVERY="0", FEATURE_CACHE_MB="64")
    return environ


class Workers:
    """Start and kill real worker processes."""

    def __init__(self, env: dict[str, str], logs: Path, connection):
        self.env, self.logs, self.connection, self.children = env, logs, connection, []

    def start(self, **overrides: str) -> ChildProcess:
        name = f"learning-worker-{len(self.children)}-{os.getpid()}"
        log_path = self.logs / f"{name}.log"
        child = ChildProcess(name, worker_command("--name", name), self.env | overrides, log_path).start()
        self.children.append(child)
        deadline = time.monotonic() + _WORKER_START_TIMEOUT_S
        while not self.connection.exists(worker_alive_key(name)):
            assert child.alive(), f"worker exited: {log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"worker did not start: {log_path.read_text()[-3000:]}"
            time.sleep(0.2)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            if child.alive():
                child.stop(grace=10)


@pytest.fixture(scope="module")
def workers(env, redis_url, tmp_path_factory):
    pool = Workers(env, tmp_path_factory.mktemp("logs"), connect(redis_url))
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def backend(env, redis_url):
    settings = Settings.from_env(env).replace(score_threshold=0.0, interactive_timeout=120.0)
    return create_app(settings, connect(redis_url)).test_client()


def _annotate(backend, project_id: int) -> None:
    for task in _TASKS:
        body = annotation_event("ANNOTATION_CREATED", 100 * project_id + task, task, tile_result(task), stamp(task),
                                project_id=project_id)
        assert backend.post("/webhook", json=body).json["store"] == "stored"


def _interactive(ls_payload, project_id: int) -> dict:
    body = ls_payload("predict_interactive_request_api")
    body["project"] = f"{project_id}.1795295462"
    body["tasks"][0]["data"]["image"] = "/data/local-files/?d=images/t1.png"
    return body


def _predicted_version(backend, ls_payload, project_id: int) -> str:
    answer = backend.post("/predict", json=_interactive(ls_payload, project_id))
    assert answer.status_code == 200, answer.json
    return answer.json["results"][0]["model_version"]


def _setup_version(backend, ls_payload, project_id: int) -> str:
    body = ls_payload("setup_request")["body"] | {"project": f"{project_id}.1795295462"}
    return backend.post("/setup", json=body).json["model_version"]


def _wait_for(backend, job_id: str, until, timeout: float = _TRAINING_TIMEOUT_S) -> tuple[dict, list[dict]]:
    seen, deadline = [], time.monotonic() + timeout
    while True:
        status = backend.get(f"/jobs/{job_id}").json
        if status.get("progress"):
            seen.append(status["progress"])
        if until(status):
            return status, seen
        assert time.monotonic() < deadline, f"job {job_id} still {status} after {timeout} s"
        time.sleep(0.3)


def test_training_creates_a_version_with_metrics_that_workers_serve_and_rollback(workers, backend, ls_payload, env):
    workers.start()
    _annotate(backend, 1)
    assert _predicted_version(backend, ls_payload, 1) == BASE_VERSION
    queued = backend.post("/train", json={"project": 1})
    assert queued.status_code == 202 and queued.json["status"] == "queued"
    status, seen = _wait_for(backend, queued.json["job_id"], lambda s: s["status"] in ("finished", "failed"))
    assert status["status"] == "finished", status
    assert status["result"]["version"] == "project-1-v1" and status["result"]["activated"] is True
    # the four tile images come in two layouts (tasks 1, 3 and 2, 4), near-copies by thumbnail: the held-out
    # slice is a whole layout (model/training/holdout_split.py), so 2 train and 2 are judged
    assert status["result"]["train_images"] == 2 and status["result"]["skipped_tasks"] == []
    steps = [p for p in seen if p.get("stage") == "training"]
    assert all({"step", "max_steps", "loss", "eta_s"} <= set(p) for p in steps)

    versions = backend.get("/versions?project=1").json
    (version,) = versions["versions"]
    assert version["version"] == "project-1-v1" and version["parent"] == BASE_VERSION and version["active"]
    assert version["activation"]["activated"] and version["train_images"] == 2 and version["holdout_images"] == 2
    for side in ("new", "parent"):
        assert version["metrics"][side]["effort"] >= 0.0 and 0.0 <= version["metrics"][side]["threshold"] <= 1.0
        assert 0.0 <= version["metrics"][side]["modes"]["bank"]["recall"] <= 1.0
    registry = ModelRegistry(Path(env["MODEL_DIR"]), connect(env["REDIS_URL"]))
    card = json.loads(registry.card_path(1, "project-1-v1").read_text())
    assert set(card["metrics"]["holdout"]) == {"new", "parent"} and card["training"]["steps"] == 4

    # the running worker switches without a restart; other projects keep the base model
    assert _setup_version(backend, ls_payload, 1) == "project-1-v1"
    assert _predicted_version(backend, ls_payload, 1) == "project-1-v1"
    assert _predicted_version(backend, ls_payload, 2) == BASE_VERSION

    # rollback to the base model, and forward again
    assert backend.post("/versions/rollback", json={"project": 1, "version": None}).status_code == 200
    assert _setup_version(backend, ls_payload, 1) == BASE_VERSION
    assert _predicted_version(backend, ls_payload, 1) == BASE_VERSION
    backend.post("/versions/rollback", json={"project": 1, "version": "project-1-v1"})
    assert _predicted_version(backend, ls_payload, 1) == "project-1-v1"

    # a second run fine-tunes from the active version
    second = backend.post("/train", json={"project": 1}).json
    status, _ = _wait_for(backend, second["job_id"], lambda s: s["status"] in ("finished", "failed"))
    assert status["status"] == "finished", status
    listed = backend.get("/versions?project=1").json["versions"]
    assert [(v["version"], v["parent"], v["active"]) for v in listed] == [
        ("project-1-v1", BASE_VERSION, False), ("project-1-v2", "project-1-v1", True)]
    assert _predicted_version(backend, ls_payload, 1) == "project-1-v2"


def test_tasks_that_name_their_clip_are_held_out_by_clip(workers, backend, env):
    """Task data naming a clip (`video`) reaches the training job through the webhook store: the held-out slice is a
    whole named clip, not the thumbnail grouping (which would pair tasks 1, 3 and 2, 4)."""
    if not any(child.alive() for child in workers.children):
        workers.start()
    clips = {1: "bench-A", 2: "bench-A", 3: "bench-A", 4: "bench-B"}
    for task in _TASKS:
        body = annotation_event("ANNOTATION_CREATED", 400 + task, task, tile_result(task), stamp(task), project_id=4)
        body["task"]["data"]["video"] = clips[task]
        assert backend.post("/webhook", json=body).json["store"] == "stored"
    job = backend.post("/train", json={"project": 4}).json
    status, _ = _wait_for(backend, job["job_id"], lambda s: s["status"] in ("finished", "failed"))
    assert status["status"] == "finished", status
    assert (status["result"]["train_images"], status["result"]["holdout_images"]) == (3, 1)
    registry = ModelRegistry(Path(env["MODEL_DIR"]), connect(env["REDIS_URL"]))
    card = json.loads(registry.card_path(4, status["result"]["version"]).read_text())
    assert card["training"]["holdout_split"] == {"train_images": 3, "holdout_images": 1, "groups": 2,
                                                 "holdout_groups": 1, "disjoint": True}


def test_killed_training_leaves_the_active_version_and_fails_the_job(workers, backend, ls_payload, env):
    for child in workers.children:
        if child.alive():
            child.stop(grace=10)
    victim = workers.start(TRAIN_MAX_STEPS="100000", TRAIN_TIME_BUDGET="600")
    _annotate(backend, 3)
    job_id = backend.post("/train", json={"project": 3}).json["job_id"]
    _wait_for(backend, job_id, lambda s: (s.get("progress") or {}).get("step", 0) >= 5, timeout=180)
    victim.kill()
    status, _ = _wait_for(backend, job_id, lambda s: s["status"] == "failed", timeout=30)
    assert "stopped while running this job" in status["error"] and "active version is unchanged" in status["error"]

    assert backend.get("/versions?project=3").json["versions"] == []
    assert _setup_version(backend, ls_payload, 3) == BASE_VERSION
    registry = ModelRegistry(Path(env["MODEL_DIR"]), connect(env["REDIS_URL"]))
    assert registry.active(3) is None
    workers.start()
    assert _predicted_version(backend, ls_payload, 3) == BASE_VERSION
    again = backend.post("/train", json={"project": 3}).json  # the dead job's lock does not block a new run
    assert again["status"] == "queued"
