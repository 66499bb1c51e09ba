"""Memory: current and peak resident set size of processes (Linux /proc), and the report's memory section.

Peak RSS is the kernel's high-water mark `VmHWM`, so it covers spikes between samples. A process tree matters
for the backend: gunicorn's master plus its worker processes.
"""

from __future__ import annotations

import resource
from pathlib import Path

__all__ = ["children", "memory_summary", "peak_rss_mb", "rss_mb", "self_peak_rss_mb", "tree_peak_rss_mb"]

_PROC = Path("/proc")
_KB_PER_MB = 1024.0


def _status_kb(pid: int, field: str) -> float | None:
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb(pid: int) -> float | None:
    """Current resident set size of `pid` in MB, or None when the process is gone."""
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb / _KB_PER_MB


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size (`VmHWM`) of `pid` in MB, or None when the process is gone."""
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb / _KB_PER_MB


def children(pid: int) -> list[int]:
    """Direct child pids of `pid`."""
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def tree_peak_rss_mb(pid: int) -> dict[int, float]:
    """Peak RSS (MB) of `pid` and every descendant still alive: `{pid: MB}`."""
    result: dict[int, float] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        peak = peak_rss_mb(current)
        if peak is not None:
            result[current] = peak
            pending.extend(children(current))
    return result


def self_peak_rss_mb() -> float:
    """Peak RSS of the calling process in MB (`ru_maxrss` is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KB_PER_MB


def memory_summary(interactive: dict, throughput: dict | None, backend_pid: int) -> dict:
    """The memory section: backend tree peak RSS, worker peak RSS per configuration, and the cache bound.

    Args:
        interactive: `bench.end_to_end.run_interactive` results (worker peaks and feature sizes).
        throughput: `bench.throughput.run_throughput` results (RSS after each round with a small cache).
        backend_pid: gunicorn's master pid (read while it still runs).
    """
    from common.settings import Settings

    default_mb = Settings.from_env({}).feature_cache_mb
    workers = {}
    for label, result in interactive.items():
        if "worker_peak_rss_mb" not in result:
            continue
        feature_mb = result.get("feature_mb_per_image")
        workers[label] = {"peak_rss_mb": result["worker_peak_rss_mb"], "feature_mb": feature_mb,
                          "entries_in_default_cache": int(default_mb // feature_mb) if feature_mb else None}
    summary = {"backend_peak_rss_mb": {str(pid): round(mb, 1) for pid, mb in tree_peak_rss_mb(backend_pid).items()},
               "default_cache_mb": default_mb, "workers": workers}
    series = ((throughput or {}).get("workers") or {}).get("1", {}).get("worker_rss_mb_after_each_round")
    if series and len(series) >= 2:
        first, last = series[0][0], series[-1][0]
        rounds = len(series)
        images = rounds * throughput["images_per_round"]
        summary["feature_cache_bound"] = (
            f"Feature cache bound: one worker with FEATURE_CACHE_MB={throughput['cache_mb']} served {images} distinct "
            f"images in {rounds} rounds; its RSS after each round was {[s[0] for s in series]} MB "
            f"({last - first:+.1f} MB from the first round to the last).")
    return summary
