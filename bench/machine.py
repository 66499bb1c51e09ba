"""The machine a run measured: CPU, cores, memory, GPU (none here), library versions, and how busy it was."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

__all__ = ["describe_machine", "load_average"]

_PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "rq", "redis", "gunicorn")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    return None


def _gpus() -> list[str]:
    """GPUs TensorFlow can see (empty on this machine: every GPU row is 'not measured')."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def load_average() -> tuple[float, float, float]:
    """1, 5 and 15 minute load averages (how much else was running)."""
    return tuple(round(v, 2) for v in os.getloadavg())  # type: ignore[return-value]


def describe_machine() -> dict:
    """CPU model, its bfloat16 features, logical cores, RAM, GPUs, Python and package versions, load average now."""
    from worker.runtime import BF16_CPU_FLAGS, cpu_flags

    return {
        "cpu": _cpu_model(),
        "bf16_cpu_flags": sorted(cpu_flags() & BF16_CPU_FLAGS),
        "logical_cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "gpus": _gpus(),
        "python": platform.python_version(),
        "packages": _versions(),
        "load_average_at_start": load_average(),
    }
