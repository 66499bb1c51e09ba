"""WORKER_THREADS: a worker's TensorFlow gets that many threads, set before it runs anything; the stack splits cores."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stack.__main__ import worker_threads
from stack.services import REPO_ROOT


def _python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_fresh_worker_process_gets_the_threads_asked_for():
    done = _python(
        "from common.settings import Settings\n"
        "from worker.runtime import configure_threads\n"
        "import tensorflow as tf\n"
        "settings = Settings.from_env({'WORKER_THREADS': '1'})\n"
        "print(configure_threads(settings.worker_threads))\n"
        "print(float(tf.reduce_sum(tf.ones([4, 4]))))\n"  # TensorFlow runs with them
        "print(configure_threads(1), configure_threads(0))\n"  # asking again for the same is fine
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["(1,", "1)", "16.0", "(1,", "1)", "(1,", "1)"]


def test_threads_asked_for_after_tensorflow_ran_are_a_clear_error():
    done = _python(
        "import tensorflow as tf\n"
        "from worker.runtime import configure_threads\n"
        "float(tf.reduce_sum(tf.ones([2])))\n"
        "configure_threads(1)\n"
    )
    assert done.returncode != 0
    assert "WORKER_THREADS=1 must be applied before TensorFlow runs anything" in done.stderr


@pytest.mark.parametrize(("workers", "cores", "expected"), [(1, 8, 8), (2, 2, 1), (3, 8, 2), (4, 2, 1), (2, 1, 1)])
def test_the_stack_gives_each_worker_its_share_of_the_cores(workers, cores, expected):
    assert worker_threads(workers, cores) == expected
