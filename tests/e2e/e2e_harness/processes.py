"""Small helpers for the servers the end-to-end tests start: ports, readiness, and stopping by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.25
STOP_GRACE_S = 15.0


class HarnessError(RuntimeError):
    """A server of the harness did not start or stop as expected; the message says where to look."""


def skip_or_fail(reason: str) -> None:
    """Skip when a prerequisite is missing, but fail under CI (`CI` or `SIAMESE_ASSIST_REQUIRE_SHARED=1`),
    where the end-to-end suite must really run."""
    if os.environ.get("CI") or os.environ.get("SIAMESE_ASSIST_REQUIRE_SHARED") == "1":
        pytest.fail(reason + " (CI requires the end-to-end suite to run)")
    pytest.skip(reason)


def port_is_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _not_zombie(pid)
    return done == 0


def _not_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log: Path | None = None,
) -> float:
    """Poll `condition` until true; return the seconds it took. Fail early if `alive()` turns false."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if alive is not None and not alive():
            raise HarnessError(f"{what}: the process exited." + (f" Last log lines:\n{tail(log)}" if log else ""))
        if time.monotonic() - start > timeout_s:
            raise HarnessError(
                f"{what}: not ready after {timeout_s:.0f} s." + (f" Last log lines:\n{tail(log)}" if log else "")
            )
        time.sleep(POLL_INTERVAL_S)


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    try:
        return requests.get(url, timeout=timeout_s).status_code == 200
    except requests.RequestException:
        return False


def stop_pid(pid: int, grace_s: float = STOP_GRACE_S, sig: int = signal.SIGTERM) -> None:
    """Send `sig` to one process we started, wait, then SIGKILL it if it is still there."""
    if not pid_alive(pid):
        return
    os.kill(pid, sig)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(POLL_INTERVAL_S)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def stop_popen(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S, sig: int = signal.SIGINT) -> None:
    """Stop a child we started: `sig` (Ctrl-C by default, so it cleans up its own children), then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)


def children_of(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants_of(pid: int) -> list[int]:
    out: list[int] = []
    stack = [pid]
    while stack:
        for child in children_of(stack.pop()):
            out.append(child)
            stack.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
