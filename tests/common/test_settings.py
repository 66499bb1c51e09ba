from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.exceptions import SettingsError
from common.settings import Settings
from stack.services import REPO_ROOT


def test_defaults_suit_the_embedded_stack():
    settings = Settings.from_env({})
    assert settings.redis_url is None and settings.port == 9090 and settings.model_dir == Path("var/models")
    assert settings.fetch_block_private is True and settings.basic_auth_user is None


def test_values_are_parsed_and_typed():
    settings = Settings.from_env({
        "LABEL_STUDIO_URL": "http://ls:8080", "REDIS_URL": "redis://r:6379/0", "PORT": "9191",
        "SCORE_THRESHOLD": "0.25", "MAX_INSTANCES": "7", "FETCH_ALLOWED_HOSTS": "A.example, b.example,,",
        "FETCH_BLOCK_PRIVATE": "no", "LOG_LEVEL": "debug", "LOCAL_FILES_DOCUMENT_ROOT": "/srv/files",
        "BASIC_AUTH_USER": "u", "BASIC_AUTH_PASS": "p",
    })
    assert settings.port == 9191 and settings.score_threshold == 0.25 and settings.max_instances == 7
    assert settings.fetch_allowed_hosts == ("a.example", "b.example")
    assert settings.fetch_block_private is False and settings.log_level == "DEBUG"
    assert settings.local_files_document_root == Path("/srv/files")


@pytest.mark.parametrize(("env", "message"), [
    ({"PORT": "http"}, "PORT='http' is not a valid int"),
    ({"PORT": "70000"}, "out of range"),
    ({"SCORE_THRESHOLD": "1.5"}, "SCORE_THRESHOLD='1.5' is out of range"),
    ({"FETCH_BLOCK_PRIVATE": "maybe"}, "not a boolean"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ({"WORKER_THREADS": "-1"}, "WORKER_THREADS='-1' is out of range"),
    ({"SCORE_THRESHOLD": "nan"}, "SCORE_THRESHOLD='nan' is out of range"),
    ({"TRAIN_PARENT_SHARE": "nan"}, "TRAIN_PARENT_SHARE='nan' is out of range"),
    ({"TRAIN_AVERAGE_TAIL": "1"}, "TRAIN_AVERAGE_TAIL='1' is out of range"),
    ({"TRAIN_RUNS": "9"}, "TRAIN_RUNS='9' is out of range"),
    ({"TRAIN_RUNS": "1.5"}, "TRAIN_RUNS"),
    ({"TRAIN_TIE_BREAK": "lowest"}, "TRAIN_TIE_BREAK='lowest': use one of middle, highest"),
    ({"TRAIN_LEARNING_RATE": "inf"}, "TRAIN_LEARNING_RATE='inf' is out of range"),
    ({"BASIC_AUTH_USER": "only-user"}, "both BASIC_AUTH_USER and BASIC_AUTH_PASS"),
])
def test_bad_values_name_the_variable_and_the_fix(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Settings.from_env(env)


def test_settings_are_frozen_and_every_variable_is_documented():
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    names = [name for name, _, help_text in Settings.documentation() if help_text]
    assert len(names) == len(Settings.documentation()) and "LABEL_STUDIO_API_KEY" in names


def test_importing_every_module_reads_no_environment_and_connects_nowhere():
    env = dict(os.environ, PORT="not-a-port", REDIS_URL="redis://127.0.0.1:1/0", SCORE_THRESHOLD="x")
    code = "import common.settings, common.queues, backend.app, backend.wsgi, worker.jobs, stack.services; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
