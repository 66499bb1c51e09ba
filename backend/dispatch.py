"""The backend's side of the queue: enqueue jobs, wait for them with a deadline, tell failures apart.

A wait ends in one of four ways, each with its own exception and message: the result (a JSON dict), the job
raised in the worker (`JobFailedError`), the worker died while running it (`WorkerLostError`: workers keep a
short-lived "alive" key in Redis, so a killed worker is noticed within `common.queues.ALIVE_TTL_S`, not after RQ's
minutes-long heartbeat), or the deadline passed (`JobTimeoutError`, the job is cancelled if it had not started).
Any Redis failure becomes `QueueUnavailableError` (HTTP 503).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import redis
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.results import Result

from common.exceptions import (
    BadRequestError,
    ImageFetchError,
    JobFailedError,
    JobTimeoutError,
    LabelStudioApiError,
    QueueFullError,
    QueueUnavailableError,
    WorkerLostError,
)
from common.queues import SERIALIZER, QueueName, make_queue, worker_alive_key

__all__ = ["JobClient", "redis_errors_as_unavailable"]

_WAIT_SLICE_S = 1
"""Longest single blocking read of a job result (seconds, RQ takes an int); between reads the worker is checked."""

_POLL_S = 0.02
"""Pause between checks once less than a slice remains."""

_WORKER_ERROR_STATUS = {kind.__name__: kind.http_status for kind in (BadRequestError, ImageFetchError,
                                                                      LabelStudioApiError)}
"""A job that failed with one of these answers its HTTP status (4xx/502: the input or Label Studio), not 500."""


@contextlib.contextmanager
def redis_errors_as_unavailable(url: str | None) -> Iterator[None]:
    """Turn redis-py connection errors into `QueueUnavailableError` with a message that says what to do."""
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
        where = url or "(no REDIS_URL)"
        raise QueueUnavailableError(
            f"The job queue (Redis at {where}) is unavailable: {error}. Start Redis (or `python -m stack`, which "
            "embeds one) and check REDIS_URL; Label Studio can retry this request then."
        ) from None


class JobClient:
    """Enqueue and await jobs on the priority queues.

    Args:
        connection: a redis-py client.
        redis_url: shown in error messages.
    """

    def __init__(self, connection: redis.Redis, redis_url: str | None = None):
        self.connection = connection
        self.redis_url = redis_url

    def enqueue(self, queue: QueueName, func: str, payload: dict, *, job_timeout: int, result_ttl: int,
                description: str = "", meta: dict | None = None) -> Job:
        """Enqueue `func(payload)` (a dotted path into worker/, never imported here) on `queue`."""
        with redis_errors_as_unavailable(self.redis_url):
            return make_queue(queue, self.connection).enqueue_call(
                func, args=(payload,), timeout=job_timeout, result_ttl=result_ttl, failure_ttl=result_ttl,
                description=description or func, meta=meta or {},
            )

    def ensure_room(self, queue: QueueName, count: int, bound: int, retry_after_s: int) -> None:
        """Refuse `count` more jobs on `queue` when that would put more than `bound` jobs in it (0: no bound).

        Concurrent requests may overshoot the bound by the number of backend threads; it is a load shedder,
        not a lock.

        Raises:
            QueueFullError: HTTP 503 with Retry-After `retry_after_s`.
        """
        if bound <= 0:
            return
        with redis_errors_as_unavailable(self.redis_url):
            depth = make_queue(queue, self.connection).count
        if depth + count > bound:
            raise QueueFullError(
                f"Busy: the {queue.value} queue holds {depth} job(s) and takes at most {bound}"
                + (f"; this request needs {count}" if count > 1 else "")
                + f". Retry in {retry_after_s} s (or add workers).", retry_after_s)

    def fetch(self, job_id: str) -> Job | None:
        with redis_errors_as_unavailable(self.redis_url):
            try:
                return Job.fetch(job_id, connection=self.connection, serializer=SERIALIZER)
            except NoSuchJobError:
                return None

    def wait(self, job: Job, timeout: float, cancel_on_timeout: bool = True) -> dict:
        """Block until `job` ends or `timeout` seconds pass; return its JSON result.

        On timeout a job that has not started is cancelled unless `cancel_on_timeout` is False (batch jobs
        stay queued: the worker posts their result later).

        Raises:
            JobFailedError, WorkerLostError, JobTimeoutError, QueueUnavailableError.
        """
        deadline = time.monotonic() + timeout
        with redis_errors_as_unavailable(self.redis_url):
            while True:
                remaining = deadline - time.monotonic()
                block = _WAIT_SLICE_S if remaining >= _WAIT_SLICE_S else 0
                result = job.latest_result(timeout=block)
                if result is not None:
                    return self._unwrap(job, result)
                self._check_worker(job)
                if time.monotonic() >= deadline:
                    raise self._expired(job, timeout, cancel_on_timeout)
                if not block:
                    time.sleep(_POLL_S)

    def _unwrap(self, job: Job, result: Result) -> dict:
        if result.type == Result.Type.SUCCESSFUL:
            value = result.return_value
            if not isinstance(value, dict):
                raise JobFailedError(f"Job {job.id} returned {type(value).__name__}, not a JSON object.")
            return value
        detail = (result.exc_string or "").strip().splitlines()
        message = detail[-1] if detail else f"the job ended as {result.type.name.lower()}"
        failure = JobFailedError(f"The worker could not run job {job.id}: {message}")
        kind = message.split(":", 1)[0].rsplit(".", 1)[-1]  # "common.exceptions.ImageFetchError: ..."
        failure.http_status = _WORKER_ERROR_STATUS.get(kind, JobFailedError.http_status)
        raise failure

    def _check_worker(self, job: Job) -> None:
        status = job.get_status(refresh=True)
        if status != JobStatus.STARTED:
            return
        job.refresh()
        name = job.worker_name
        if name and not self.connection.exists(worker_alive_key(name)):
            raise WorkerLostError(
                f"Worker {name} stopped while running job {job.id} (killed or out of memory); the request was not "
                "answered. Retry: another worker (or the restarted one) will take the next request."
            )

    def _expired(self, job: Job, timeout: float, cancel: bool) -> JobTimeoutError:
        status = job.get_status(refresh=True)
        if cancel and status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            job.cancel()
        workers = self.living_workers()
        if workers == 0:
            hint = "No worker is running: start one with `python -m worker` (or `python -m stack`)."
        else:
            hint = f"{workers} worker(s) are busy or slow; try again, add workers, or raise the timeout."
        return JobTimeoutError(f"Job {job.id} did not finish within {timeout:g} s (it was {status}). {hint}")

    def living_workers(self) -> int:
        """Workers whose alive key is fresh (RQ keeps a killed worker registered for minutes)."""
        with redis_errors_as_unavailable(self.redis_url):
            names = [worker.name for worker in Worker.all(connection=self.connection)]
            if not names:
                return 0
            return int(sum(self.connection.exists(worker_alive_key(name)) for name in names))

    def queue_depths(self) -> dict[str, int]:
        with redis_errors_as_unavailable(self.redis_url):
            return {name.value: make_queue(name, self.connection).count for name in QueueName}
