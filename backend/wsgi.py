"""gunicorn entry point: `gunicorn "backend.wsgi:create_app_from_env()"`.

The factory reads the settings once, configures logging and connects (lazily) to Redis. Nothing happens at
import, so tests import `backend.app` freely.
"""

from __future__ import annotations

from flask import Flask

from backend.app import create_app
from common.exceptions import SettingsError
from common.logs import configure_logging
from common.queues import connect
from common.settings import Settings

__all__ = ["create_app_from_env"]


def create_app_from_env() -> Flask:
    """The app for the current environment (see `common.settings.Settings` for every variable)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    if not settings.redis_url:
        raise SettingsError(
            "REDIS_URL is not set. Run the whole stack with `python -m stack` (it starts an embedded Redis and "
            "sets REDIS_URL), or point REDIS_URL at a Redis server, e.g. redis://localhost:6379/0."
        )
    return create_app(settings, connect(settings.redis_url))
