"""The worker process class: an RQ `SimpleWorker` (jobs run in this process, the model stays warm).

Two additions to RQ's worker:
- an "alive" key refreshed every second by a daemon thread (TTL `ALIVE_TTL_S`), so the backend notices
  within seconds that a worker died mid-job (RQ's own heartbeat takes minutes to expire);
- the end-to-end latency of every job (enqueued -> finished) pushed to a capped list per queue (/metrics).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from rq import SimpleWorker

from common.queues import ALIVE_TTL_S, QueueName, latency_key, worker_alive_key

__all__ = ["AssistWorker"]

_ALIVE_PERIOD_S = 1.0
_LATENCY_SAMPLES = 200

log = logging.getLogger(__name__)


class AssistWorker(SimpleWorker):
    """SimpleWorker with an alive heartbeat and latency recording. Queues are served in the given order."""

    def work(self, *args, **kwargs) -> bool:
        stop = threading.Event()
        thread = threading.Thread(target=self._keep_alive, args=(stop,), name="alive", daemon=True)
        thread.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
            thread.join(timeout=2 * _ALIVE_PERIOD_S)
            self.connection.delete(worker_alive_key(self.name))

    def _keep_alive(self, stop: threading.Event) -> None:
        key = worker_alive_key(self.name)
        while not stop.is_set():
            try:
                self.connection.set(key, str(time.time()), px=int(ALIVE_TTL_S * 1000))
            except Exception as error:  # Redis hiccup: keep trying, RQ reports the outage itself
                log.warning("could not refresh %s: %s", key, error)
            stop.wait(_ALIVE_PERIOD_S)

    def execute_job(self, job, queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            self._record_latency(job, queue.name)

    def _record_latency(self, job, queue_name: str) -> None:
        if job.enqueued_at is None or queue_name not in {q.value for q in QueueName}:
            return
        enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
        latency = (datetime.now(UTC) - enqueued).total_seconds()
        key = latency_key(QueueName(queue_name))
        pipe = self.connection.pipeline()
        pipe.lpush(key, f"{latency:.4f}")
        pipe.ltrim(key, 0, _LATENCY_SAMPLES - 1)
        pipe.execute()
