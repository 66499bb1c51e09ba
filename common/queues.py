"""Queue names, Redis keys and the connection: the shared vocabulary of the RQ layer.

Queues are served in priority order (`PRIORITY`): a worker always takes an interactive job before a batch
job, and a batch job before a training job. Every job is serialized with RQ's JSON serializer, so only
JSON-safe values can travel (a numpy array in a payload fails at enqueue time, not in the worker).
"""

from __future__ import annotations

import enum

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from common.exceptions import QueueUnavailableError

__all__ = [
    "ALIVE_TTL_S",
    "KEY_PREFIX",
    "PRIORITY",
    "SERIALIZER",
    "QueueName",
    "connect",
    "delivery_key",
    "latency_key",
    "make_queue",
    "project_setup_key",
    "training_lock_key",
    "training_queued_key",
    "version_key",
    "versions_key",
    "worker_alive_key",
]

SERIALIZER = JSONSerializer
"""Jobs carry JSON only (masks as COCO RLE strings, boxes as lists)."""

KEY_PREFIX = "siamese-assist"
"""Prefix of every key this project writes besides RQ's own."""

ALIVE_TTL_S = 3.0
"""Lifetime of a worker's alive key; workers refresh it every second while they run."""

_SOCKET_TIMEOUT_S = 5.0
"""A Redis command that takes longer than this means Redis is unreachable, not slow."""


class QueueName(enum.StrEnum):
    INTERACTIVE = "interactive"
    BATCH = "batch"
    TRAINING = "training"


PRIORITY = (QueueName.INTERACTIVE, QueueName.BATCH, QueueName.TRAINING)


def connect(url: str) -> redis.Redis:
    """A client for `url` (redis://, rediss:// or unix://). It connects lazily, on the first command.

    Raises:
        QueueUnavailableError: the URL is malformed.
    """
    try:
        return redis.Redis.from_url(
            url, socket_timeout=_SOCKET_TIMEOUT_S, socket_connect_timeout=_SOCKET_TIMEOUT_S,
            health_check_interval=30,
        )
    except ValueError as error:
        raise QueueUnavailableError(
            f"REDIS_URL={url!r} is not a Redis URL ({error}); use redis://host:6379/0 or unix:///path/redis.sock."
        ) from None


def make_queue(name: QueueName, connection: redis.Redis) -> Queue:
    return Queue(name.value, connection=connection, serializer=SERIALIZER)


def worker_alive_key(worker_name: str) -> str:
    """Set with a short TTL by a living worker; its absence while a job is 'started' means the worker died."""
    return f"{KEY_PREFIX}:alive:{worker_name}"


def delivery_key(job_id: str) -> str:
    """Who delivers a batch job's result: the waiting backend ('backend') or the worker by POST ('post')."""
    return f"{KEY_PREFIX}:delivery:{job_id}"


def latency_key(queue: QueueName) -> str:
    """A capped list of recent job durations in seconds (for /metrics)."""
    return f"{KEY_PREFIX}:latency:{queue.value}"


def version_key(project_id: int | None = None) -> str:
    """The active model version, globally (`None`) or for one project (set by training, issue 5)."""
    return f"{KEY_PREFIX}:version" if project_id is None else f"{KEY_PREFIX}:project:{project_id}:version"


def versions_key() -> str:
    """A set of every model version a worker has served."""
    return f"{KEY_PREFIX}:versions"


def project_setup_key(project_id: int) -> str:
    """What Label Studio sent in /setup for a project (hostname, token, extra params), as JSON."""
    return f"{KEY_PREFIX}:project:{project_id}:setup"


def training_lock_key(project_id: int) -> str:
    """Held (value: the job id, short TTL renewed while it runs) by the one training job of a project."""
    return f"{KEY_PREFIX}:project:{project_id}:training-lock"


def training_queued_key(project_id: int) -> str:
    """The id of a project's training job that is queued and not started yet (debounces triggers)."""
    return f"{KEY_PREFIX}:project:{project_id}:training-queued"
