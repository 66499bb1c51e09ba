"""The deployed backend (gunicorn, LOG_LEVEL=DEBUG, access log on) never writes a password or a token to its log:
basic-auth credentials (right and wrong), and Label Studio's token from /setup."""

from __future__ import annotations

import base64
import os
import socket

import requests

from stack.services import ChildProcess, backend_command, wait_for_http

PASSWORD = "gunicorn-pw-93c1d7"
USER = "labeler"
TOKEN = "ls-token-gunicorn-e4a8f2"
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_logs_hold_no_password_or_token(redis_url, tmp_path):
    port = _free_port()
    env = dict(os.environ, REDIS_URL=redis_url, MODEL_DIR=str(tmp_path / "models"), LOG_LEVEL="DEBUG",
               BASIC_AUTH_USER=USER, BASIC_AUTH_PASS=PASSWORD)
    log_path = tmp_path / "backend.log"
    backend = ChildProcess("backend", backend_command("127.0.0.1", port, 1, 4), env, log_path).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", START_TIMEOUT_S, backend)
        setup = {"project": "4.1", "hostname": "http://127.0.0.1:1", "access_token": TOKEN}
        assert requests.post(f"{base}/setup", json=setup, auth=(USER, PASSWORD + "x"),
                             timeout=REQUEST_TIMEOUT_S).status_code == 401
        assert requests.post(f"{base}/setup", json=setup, auth=(USER, PASSWORD),
                             timeout=REQUEST_TIMEOUT_S).status_code == 200
        assert requests.post(f"{base}/predict", json={"tasks": []}, auth=(USER, PASSWORD),
                             timeout=REQUEST_TIMEOUT_S).status_code == 400
    finally:
        backend.stop(grace=10)
    text = log_path.read_text()
    assert "POST /setup" in text and "POST /predict" in text  # the access log is on: the check below means something
    credentials = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, TOKEN, credentials):
        assert secret not in text
