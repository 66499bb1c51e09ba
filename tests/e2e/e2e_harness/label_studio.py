"""Start and stop a real Label Studio 1.23.2 (from `.venv-ls`) through `scripts/start_label_studio.sh`.

The script is the one place that knows Label Studio's flags and environment; this module adds what a test
session needs: a fresh data dir, a cached migrated database (a fresh start spends ~27 s in migrations, a start
on a migrated database ~3 s), and stopping exactly the process it started.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import LOOPBACK, HarnessError, port_is_open, stop_pid, tail

REPO_ROOT = Path(__file__).resolve().parents[3]
START_SCRIPT = REPO_ROOT / "scripts" / "start_label_studio.sh"
LS_VENV = Path(os.environ.get("LS_VENV", REPO_ROOT / ".venv-ls"))
LS_VERSION = "1.23.2"
DEFAULT_PORT = 18473
DB_FILE = "label_studio.sqlite3"
PID_FILE = "label-studio.pid"
LOG_FILE = "label-studio.log"
START_TIMEOUT_S = 300

USER = "admin@example.com"
PASSWORD = "admin12345"
TOKEN = "e2e0123456789abcdef0123456789abcdef01234"


@dataclass(frozen=True)
class LabelStudio:
    """A running Label Studio: where it listens, how to log in, where its files are."""

    url: str
    port: int
    user: str
    password: str
    token: str
    data_dir: Path
    files_root: Path
    pid: int
    started_in_s: float

    @property
    def log(self) -> Path:
        return self.data_dir / LOG_FILE


def installed() -> bool:
    return (LS_VENV / "bin" / "label-studio").is_file()


def template_path(cache_dir: Path) -> Path:
    """Where the migrated database for this version and user lives between runs (under git-ignored var/)."""
    return cache_dir / f"label-studio-{LS_VERSION}-{USER.split('@')[0]}" / DB_FILE


def start(data_dir: Path, port: int = DEFAULT_PORT, template: Path | None = None) -> LabelStudio:
    """Start Label Studio on 127.0.0.1:`port` with its data in `data_dir` (created) and wait until it is ready.

    With `template` (a migrated database) existing, it is copied in first; when it does not exist yet, the
    database is saved there once Label Studio is ready, so the next start skips the migrations.
    """
    if not installed():
        raise HarnessError(f"Label Studio is not installed in {LS_VENV}: run scripts/install_label_studio.sh")
    if port_is_open(port):
        raise HarnessError(
            f"port {port} on {LOOPBACK} is already taken (another Label Studio?); "
            "set SIAMESE_E2E_LS_PORT to a free port"
        )
    files_root = data_dir / "files"
    files_root.mkdir(parents=True, exist_ok=True)
    if template is not None and template.is_file():
        shutil.copyfile(template, data_dir / DB_FILE)
    env = dict(
        os.environ,
        LS_VENV=str(LS_VENV),
        LS_PORT=str(port),
        LS_DATA=str(data_dir),
        LS_FILES_ROOT=str(files_root),
        LS_USER=USER,
        LS_PASS=PASSWORD,
        LS_TOKEN=TOKEN,
        LS_READY_TIMEOUT=str(START_TIMEOUT_S),
    )
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(START_SCRIPT)], env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S + 30
    )
    elapsed = time.monotonic() - started
    pid_file = data_dir / PID_FILE
    if result.returncode != 0:
        if pid_file.is_file():
            stop_pid(int(pid_file.read_text()))
        raise HarnessError(
            f"{START_SCRIPT.name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
            f"Label Studio log:\n{tail(data_dir / LOG_FILE)}"
        )
    instance = LabelStudio(
        url=f"http://{LOOPBACK}:{port}",
        port=port,
        user=USER,
        password=PASSWORD,
        token=TOKEN,
        data_dir=data_dir,
        files_root=files_root,
        pid=int(pid_file.read_text()),
        started_in_s=elapsed,
    )
    if template is not None and not template.is_file():
        save_database(data_dir / DB_FILE, template)
    return instance


def save_database(source: Path, target: Path) -> None:
    """Consistent copy of a live sqlite database (sqlite's online backup), written atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    partial.replace(target)


def stop(instance: LabelStudio) -> None:
    stop_pid(instance.pid)
