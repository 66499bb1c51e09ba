"""`python -m worker`: load the model once, publish its version, serve interactive > batch > training.

Options: `--burst` (exit when the queues are empty), `--name` (worker name; default host.pid).
Stops on SIGINT/SIGTERM after the current job (RQ's warm shutdown).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time

import numpy as np

from common.exceptions import SettingsError
from common.logs import configure_logging
from common.queues import PRIORITY, SERIALIZER, connect, make_queue
from common.settings import Settings
from common.versions import publish_version
from worker import runtime
from worker.process import AssistWorker

log = logging.getLogger("worker")

_WARMUP_SIZE = (64, 96)
"""A small image pushed through every stage at start, so the first real request does not pay tracing."""


def warm_up(rt: runtime.Runtime) -> float:
    started = time.perf_counter()
    image = np.full((*_WARMUP_SIZE, 3), 127, np.uint8)
    query = rt.predictor.encode_image(image)
    reference = rt.predictor.encode_references(image, np.asarray([[8, 8, 40, 40]], np.float32))
    rt.predictor.find(query, reference)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="exit once the queues are empty")
    parser.add_argument("--name", default=None, help="worker name (default: <host>.<pid>)")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        if not settings.redis_url:
            raise SettingsError("REDIS_URL is not set; point it at the Redis the backend uses (or run "
                                "`python -m stack`).")
    except SettingsError as error:
        print(f"python -m worker: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    connection = connect(settings.redis_url)
    try:
        predictor = runtime.load_predictor(settings)
    except Exception as error:  # a corrupt checkpoint raises h5py, keras and json errors of many types
        source = settings.checkpoint or settings.model_preset or runtime.DEFAULT_CHECKPOINT
        log.error("cannot load the model (%s): %s: %s", source, type(error).__name__, error)
        return 2
    rt = runtime.Runtime(settings, predictor)
    runtime.install(rt)
    log.info("warm-up took %.2f s", warm_up(rt))
    publish_version(connection, rt.version)
    worker = AssistWorker(
        [make_queue(name, connection) for name in PRIORITY], connection=connection, serializer=SERIALIZER,
        name=args.name or f"{socket.gethostname()}.{os.getpid()}",
    )
    log.info("worker %s serving %s with model %s", worker.name, [q.value for q in PRIORITY], rt.version)
    worker.work(burst=args.burst, logging_level=settings.log_level, with_scheduler=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
