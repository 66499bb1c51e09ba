"""Fixtures for the worker tests: test images, a Label Studio stub, a real Redis and real worker processes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from label_studio_stub import LabelStudioStub
from scene_images import jpeg_bytes, png_bytes, scene

from backend.app import create_app
from common.queues import connect, worker_alive_key
from common.settings import Settings
from stack.services import ChildProcess, EmbeddedRedis, worker_command

LS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ls"
_WORKER_START_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def ls_payload():
    """`ls_payload(name)` -> a fresh copy of a captured Label Studio payload from tests/fixtures/ls/."""
    return lambda name: json.loads((LS_FIXTURES / f"{name}.json").read_text())


@pytest.fixture()
def ls_stub():
    with LabelStudioStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def files_root(tmp_path_factory) -> Path:
    """LOCAL_FILES_DOCUMENT_ROOT with images/a.png (the captured payloads' image), images/c.png, and images/a.jpg
    (a.png as a JPEG)."""
    root = tmp_path_factory.mktemp("files")
    (root / "images").mkdir()
    (root / "images" / "a.png").write_bytes(png_bytes(scene()))
    (root / "images" / "c.png").write_bytes(png_bytes(scene()[::-1].copy()))
    (root / "images" / "a.jpg").write_bytes(jpeg_bytes(scene()))
    return root


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> str:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.db").start()
    yield server.url
    server.stop()


class WorkerPool:
    """Start and kill real `python -m worker` processes."""

    def __init__(self, env: dict[str, str], logs: Path, connection):
        self.env, self.logs, self.connection = env, logs, connection
        self.children: list[ChildProcess] = []

    def start(self) -> ChildProcess:
        name = f"test-worker-{len(self.children)}-{os.getpid()}"
        child = ChildProcess(name, worker_command("--name", name), self.env, self.logs / f"{name}.log").start()
        self.children.append(child)
        deadline = time.monotonic() + _WORKER_START_TIMEOUT_S
        while not self.connection.exists(worker_alive_key(name)) or not self.connection.exists(
                f"rq:worker:{name}"):
            if not child.alive():
                raise RuntimeError(f"worker exited: {(self.logs / f'{name}.log').read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {(self.logs / f'{name}.log').read_text()[-3000:]}")
            time.sleep(0.2)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            child.stop(grace=10)


@pytest.fixture(scope="module")
def worker_env(redis_url, files_root, tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CHECKPOINT", "LABEL_STUDIO_URL",
                                                             "LABEL_STUDIO_API_KEY"}}
    env.update(REDIS_URL=redis_url, MODEL_PRESET="tiny", MODEL_SEED="0", LOCAL_FILES_DOCUMENT_ROOT=str(files_root),
               FETCH_ALLOWED_HOSTS="127.0.0.1,localhost", TF_CPP_MIN_LOG_LEVEL="2", LOG_LEVEL="INFO",
               MODEL_DIR=str(tmp_path_factory.mktemp("models")))
    return env


@pytest.fixture(scope="module")
def workers(worker_env, redis_url, tmp_path_factory):
    pool = WorkerPool(worker_env, tmp_path_factory.mktemp("logs"), connect(redis_url))
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def backend_settings(worker_env, files_root) -> Settings:
    return Settings.from_env(worker_env).replace(score_threshold=0.0, interactive_timeout=60.0, batch_budget=60.0)


@pytest.fixture(scope="module")
def backend(backend_settings, redis_url):
    return create_app(backend_settings, connect(redis_url)).test_client()
