"""Run one measurement in a fresh Python process, so its peak RSS is its own and its memory is returned after.

    python -m bench.probe KIND '{"json": "arguments"}'     # prints one JSON line: the result + "peak_rss_mb"

KIND names a function registered in `PROBES` (the families define them). `run_probe` is the parent's side: it
starts the child with a timeout and parses its last output line; `probe_within` runs one inside a run's time budget
and records a skip or a failure in place of the result, so the run goes on.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["MIN_PROBE_S", "PROBES", "ProbeError", "probe_within", "run_probe"]

PROBES = {
    "size": "bench.scaling:size_point",
    "instances": "bench.scaling:instance_sweep",
    "training": "bench.training:training_point",
}
"""KIND -> "module:function"; the function takes the JSON arguments as keywords and returns a JSON-safe dict."""

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH-PROBE-RESULT "
MIN_PROBE_S = 120.0
"""Least time a probe is given even when the run's budget is nearly spent (importing TF and building takes a while
on a busy machine); each family also caps its probes, so a run still ends."""


log = logging.getLogger(__name__)


class ProbeError(RuntimeError):
    """The child failed, timed out or printed no result; the message holds the end of its output."""


def run_probe(kind: str, arguments: dict, timeout: float) -> dict:
    """Run `python -m bench.probe kind arguments` and return its result.

    Raises:
        ProbeError: non-zero exit, timeout, or no result line.
    """
    if kind not in PROBES:
        raise ValueError(f"unknown probe {kind!r}; known: {sorted(PROBES)}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    try:
        completed = subprocess.run([sys.executable, "-m", "bench.probe", kind, json.dumps(arguments)],
                                   cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise ProbeError(f"probe {kind} {arguments} did not finish within {timeout:.0f} s") from error
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        tail = (completed.stderr or completed.stdout)[-1500:]
        raise ProbeError(f"probe {kind} {arguments} exited with {completed.returncode}: {tail}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def probe_within(kind: str, arguments: dict, deadline, cap_s: float) -> dict:
    """`run_probe` within a run's budget: `{"skipped": "time budget"}` once `deadline` (a `bench.timing.Deadline`)
    has expired, else the result, or `{"error": ...}` (the end of the child's output) when it failed.

    The probe gets what remains of the budget, at least `MIN_PROBE_S` and at most `cap_s` seconds.
    """
    if deadline.expired():
        return {"skipped": "time budget"}
    try:
        return run_probe(kind, arguments, timeout=min(cap_s, max(MIN_PROBE_S, deadline.remaining())))
    except ProbeError as error:
        log.error("%s", error)
        return {"error": str(error)[-600:]}


def main(argv: list[str] | None = None) -> int:
    import importlib

    from bench.memory import peak_rss_mb

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in PROBES:
        print(f"usage: python -m bench.probe {{{','.join(PROBES)}}} JSON", file=sys.stderr)
        return 2
    module, function = PROBES[args[0]].split(":")
    result = getattr(importlib.import_module(module), function)(**json.loads(args[1]))
    # VmHWM of this process: `ru_maxrss` would carry the parent's peak over fork + exec on Linux.
    result["peak_rss_mb"] = round(peak_rss_mb(os.getpid()), 1)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
