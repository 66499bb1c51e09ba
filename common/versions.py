"""The active model version, published in Redis by workers and read by the backend's /setup and /versions.

Label Studio skips tasks that already hold a prediction whose `model_version` equals what /setup returns, so
/setup and every prediction must report the same string. Workers publish the version they serve when they
start; a per-project version (set when fine-tuning activates a new checkpoint, issue 5) takes precedence.
"""

from __future__ import annotations

import redis

from common.queues import version_key, versions_key

__all__ = ["UNKNOWN_VERSION", "active_version", "known_versions", "publish_version"]

UNKNOWN_VERSION = "siamese-assist-no-worker-yet"
"""Reported before any worker has started: Label Studio will re-request predictions once one has."""


def publish_version(connection: redis.Redis, version: str, project_id: int | None = None) -> None:
    """Make `version` the active one (globally, or for `project_id`) and remember it in the version list."""
    pipe = connection.pipeline()
    pipe.set(version_key(project_id), version)
    pipe.sadd(versions_key(), version)
    pipe.execute()


def active_version(connection: redis.Redis, project_id: int | None = None) -> str:
    """The version predictions for `project_id` carry: the project's own, else the global one."""
    keys = [version_key(project_id), version_key()] if project_id is not None else [version_key()]
    for value in connection.mget(keys):
        if value:
            return value.decode()
    return UNKNOWN_VERSION


def known_versions(connection: redis.Redis) -> list[str]:
    """Every version a worker has served, sorted."""
    return sorted(v.decode() for v in connection.smembers(versions_key()))
