"""One training job per project at a time: a Redis lock held by the running job, and orphan detection.

The lock's value is the holding job's id; its TTL is short (`LOCK_TTL_S`) and a daemon thread of the job renews
it, so a worker killed mid-training stops renewing and the lock frees itself. A job left "started" by a dead
worker (RQ notices only after minutes) is marked failed with the reason as soon as anyone looks at it:
`fail_if_orphaned` checks the worker's short-lived alive key (`common.queues.worker_alive_key`).
"""

from __future__ import annotations

import threading

import redis
from rq.job import Job, JobStatus

from common.queues import training_lock_key, worker_alive_key

__all__ = ["LOCK_TTL_S", "TrainingLock", "fail_if_orphaned"]

LOCK_TTL_S = 20.0
"""Lifetime of the lock without renewal; the holder renews it every `LOCK_TTL_S / 4`."""

_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""
_RENEW_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end
"""


class TrainingLock:
    """The training lock of one project.

    Args:
        connection: redis-py client.
        project_id: the project.
    """

    def __init__(self, connection: redis.Redis, project_id: int):
        self.connection = connection
        self.key = training_lock_key(project_id)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner: str | None = None

    def holder(self) -> str | None:
        """The job id holding the lock, or None."""
        value = self.connection.get(self.key)
        return value.decode() if value else None

    def acquire(self, job_id: str) -> bool:
        """Take the lock for `job_id` and keep renewing it in a daemon thread; False when another job holds it."""
        if not self.connection.set(self.key, job_id, nx=True, px=int(LOCK_TTL_S * 1000)):
            return self.holder() == job_id
        self._owner = job_id
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="training-lock", daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(LOCK_TTL_S / 4):
            try:
                self.connection.eval(_RENEW_IF_OWNER, 1, self.key, self._owner, int(LOCK_TTL_S * 1000))
            except redis.exceptions.RedisError:
                continue  # transient: the next round retries; after LOCK_TTL_S the lock frees itself

    def release(self) -> None:
        """Stop renewing and delete the lock if this holder still owns it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._owner is not None:
            self.connection.eval(_RELEASE_IF_OWNER, 1, self.key, self._owner)
            self._owner = None

    def break_for(self, job_id: str) -> None:
        """Delete the lock if `job_id` holds it (its worker died)."""
        self.connection.eval(_RELEASE_IF_OWNER, 1, self.key, job_id)


def fail_if_orphaned(job: Job) -> bool:
    """Mark `job` failed when it is 'started' but its worker is gone; returns True when it did.

    The failure reason names the worker and says that nothing was activated (versions are only activated after
    a complete, evaluated checkpoint is on disk).
    """
    from rq.job_lifecycle import record_job_failure
    from rq.registry import StartedJobRegistry

    if job.get_status(refresh=True) != JobStatus.STARTED:
        return False
    job.refresh()
    name = job.worker_name
    if not name or job.connection.exists(worker_alive_key(name)):
        return False
    reason = (f"WorkerLostError: worker {name} stopped while running this job (killed or out of memory); "
              "nothing was activated, the project's active version is unchanged. Start the job again.")
    with job.connection.pipeline() as pipe:
        record_job_failure(job, reason, pipe)
        StartedJobRegistry(job.origin, connection=job.connection, serializer=job.serializer).remove_executions(
            job, pipeline=pipe)
        pipe.execute()
    return True
