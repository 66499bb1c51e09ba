"""Faults around a real worker process (`python -m worker`, tiny preset, LOG_LEVEL=DEBUG) over a real Redis.

- job dicts enqueued directly (not by the backend) are validated in the worker: a malformed one fails with the
  field named, and the worker goes on serving;
- Label Studio unreachable while the worker fetches a task image: a clear 422 naming the URL, not a 500;
- secrets (Label Studio's token) never reach the worker's log, even at DEBUG;
- a corrupt checkpoint at start: a clear message and exit code 2.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from rq.job import JobStatus

from backend.app import create_app
from backend.predict import INTERACTIVE_JOB
from common.queues import QueueName, connect, make_queue, worker_alive_key
from common.settings import Settings
from stack.services import REPO_ROOT, ChildProcess, worker_command

pytestmark = pytest.mark.slow

WORKER_START_TIMEOUT_S = 120.0
JOB_TIMEOUT_S = 60.0
TOKEN = "ls-secret-token-0b9d2f61a7"
WORKER_NAME = f"hardening-worker-{os.getpid()}"


def _png_data_url(height: int = 96, width: int = 128) -> str:
    image = np.full((height, width, 3), 200, np.uint8)
    image[20:50, 20:50] = (200, 30, 30)
    image[40:70, 80:110] = (200, 30, 30)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def worker_env(redis_url, tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CHECKPOINT", "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"}}
    env.update(REDIS_URL=redis_url, MODEL_PRESET="tiny", MODEL_SEED="0", TF_CPP_MIN_LOG_LEVEL="2", LOG_LEVEL="DEBUG",
               FETCH_TIMEOUT="5", MODEL_DIR=str(tmp_path_factory.mktemp("models")))
    return env


@pytest.fixture(scope="module")
def worker(worker_env, redis_url, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("logs") / "worker.log"
    child = ChildProcess("worker", worker_command("--name", WORKER_NAME), worker_env, log_path).start()
    connection = connect(redis_url)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while not connection.exists(worker_alive_key(WORKER_NAME)):
        assert child.alive(), log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "the worker did not start: " + log_path.read_text()[-3000:]
        time.sleep(0.2)
    yield child
    child.stop(grace=10)


def _wait(job, timeout: float = JOB_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status in (JobStatus.FINISHED, JobStatus.FAILED):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job.id} still {job.get_status()} after {timeout} s")


GOOD_REQUEST = {"project_id": 1, "image": {"url": "<data url>"}, "reference_boxes": [[20, 20, 50, 50]],
                "thresholds": {"score_threshold": 0.0, "nms_threshold": 0.5, "max_instances": 5}}


@pytest.mark.parametrize(("payload", "reason"), [
    ({}, "interactive: missing field 'reference_boxes'"),
    ("not a dict", "missing field 'reference_boxes'"),
    (dict(GOOD_REQUEST, reference_boxes=[[50, 50, 20, 20]]), "x2 > x1"),
    (dict(GOOD_REQUEST, reference_boxes=[[0, 0, "a", 1]]), "must be numbers"),
    (dict(GOOD_REQUEST, project_id="1"), "interactive.project_id: expected"),
    (dict(GOOD_REQUEST, thresholds={"score_threshold": 3, "nms_threshold": 0.5, "max_instances": 5}),
     "thresholds out of range"),
    (dict(GOOD_REQUEST, image={"url": "file:///etc/passwd"}), "Unsupported image URL"),
], ids=["empty", "string", "inverted-box", "string-coordinate", "string-project", "threshold", "file-url"])
def test_malformed_job_dicts_fail_in_the_worker_with_the_reason_and_it_keeps_serving(worker, redis_conn, payload,
                                                                                      reason):
    queue = make_queue(QueueName.INTERACTIVE, redis_conn)
    bad = queue.enqueue_call(INTERACTIVE_JOB, args=(payload,), result_ttl=600, failure_ttl=600)
    assert _wait(bad) == JobStatus.FAILED
    last_line = bad.latest_result().exc_string.strip().splitlines()[-1]
    assert reason in last_line, last_line
    good = queue.enqueue_call(INTERACTIVE_JOB, args=(dict(GOOD_REQUEST, image={"url": _png_data_url()}),),
                              result_ttl=600)
    assert _wait(good) == JobStatus.FINISHED
    assert good.latest_result().return_value["image_size"] == [96, 128]
    assert worker.alive()


def test_label_studio_unreachable_is_a_clear_422_and_the_token_is_not_logged(worker, worker_env, redis_conn,
                                                                            ls_payload):
    port = _closed_port()
    settings = dataclasses.replace(Settings.from_env(worker_env), interactive_timeout=JOB_TIMEOUT_S)
    client = create_app(settings, redis_conn).test_client()
    setup = {"project": "7.1", "hostname": f"http://127.0.0.1:{port}", "access_token": TOKEN}
    assert client.post("/setup", json=setup).status_code == 200
    body = ls_payload("predict_interactive_request_api") | {"project": "7.1"}
    body["tasks"][0]["data"]["image"] = "/data/upload/7/photo.png"
    answer = client.post("/predict", json=body)
    assert answer.status_code == 422, answer.json
    error = answer.json["error"]
    assert f"Downloading http://127.0.0.1:{port}/data/upload/7/photo.png failed" in error
    assert "refused" in error.lower()
    assert TOKEN not in error
    assert client.get("/health").json["status"] == "UP"
    log_text = worker.log_path.read_text()
    assert "photo.png" in log_text  # the failure is logged ...
    assert TOKEN not in log_text  # ... without the token


@pytest.mark.parametrize(("card", "message"), [
    ("valid", "cannot load weights"),
    ("[1, 2]", "cannot load the model"),
    ("{not json", "unreadable model card"),
], ids=["garbage-weights", "card-not-an-object", "card-not-json"])
def test_corrupt_checkpoint_at_start_exits_2_with_a_clear_message(tmp_path, card, message):
    from model.checkpoint import ModelCard, card_path
    from model.presets import PRESETS

    weights = tmp_path / "broken.weights.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4096))  # an HDF5 signature, then noise
    if card == "valid":
        card = ModelCard(version="broken", preset="tiny", config=dataclasses.asdict(PRESETS["tiny"])).to_json()
    card_path(weights).write_text(card)
    env = {k: v for k, v in os.environ.items() if k not in {"MODEL_PRESET"}}
    env.update(REDIS_URL="redis://127.0.0.1:1/0", CHECKPOINT=str(weights), TF_CPP_MIN_LOG_LEVEL="2")
    run = subprocess.run([sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=WORKER_START_TIMEOUT_S)
    assert run.returncode == 2, run.stderr[-2000:]
    assert message in run.stderr and "broken" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_checkpoint_card_is_json(tmp_path):
    """Guard for the test above: a real card round-trips (so 'valid' really is valid)."""
    from model.checkpoint import ModelCard
    from model.presets import PRESETS

    card = ModelCard(version="v", preset="tiny", config=dataclasses.asdict(PRESETS["tiny"]))
    assert json.loads(card.to_json())["config"]["name"] == "tiny"
