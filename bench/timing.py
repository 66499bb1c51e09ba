"""Timing and statistics helpers shared by every benchmark family.

Every measurement follows the same rule: warm-up calls first (not recorded), then `repeats` recorded calls,
reported as median and min-max (`Stats`). Ratios are computed from medians measured in the same run.
`Deadline` bounds a whole run in wall time; `Accumulator` sums the time spent inside one function while some
other code runs (e.g. mask pasting inside `Predictor.find`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Accumulator", "Deadline", "Stats", "measure", "ratio", "stopwatch"]


@dataclass(frozen=True)
class Stats:
    """Median and range of repeated measurements (seconds, or any unit: the helpers do not care)."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        """Statistics of `samples` (at least one, all finite).

        Raises:
            ValueError: no samples, or a NaN/inf among them.
        """
        values = [float(v) for v in samples]
        if not values:
            raise ValueError("Stats.of needs at least one sample")
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"Stats.of got a non-finite sample: {values}")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def scaled(self, factor: float) -> Stats:
        """The same statistics in another unit (e.g. `scaled(1000)` for milliseconds)."""
        return Stats(self.median * factor, self.low * factor, self.high * factor, self.count)

    def to_dict(self, digits: int = 4) -> dict[str, float | int]:
        return {"median": round(self.median, digits), "min": round(self.low, digits),
                "max": round(self.high, digits), "n": self.count}

    def ms(self) -> str:
        """`"123 (110-140)"`: median and range in milliseconds, for tables (input in seconds)."""
        return f"{_fmt(self.median * 1e3)} ({_fmt(self.low * 1e3)}-{_fmt(self.high * 1e3)})"


def _fmt(value: float) -> str:
    """Three significant figures at most, no exponent: 0.123, 1.23, 12.3, 123, 1234."""
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio(numerator: float, denominator: float) -> float | None:
    """`numerator / denominator`, or None when the denominator is zero or not finite."""
    if not denominator or not math.isfinite(denominator) or not math.isfinite(numerator):
        return None
    return numerator / denominator


@contextlib.contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as elapsed: ...` then `elapsed[0]` is the wall time of the block in seconds."""
    elapsed = [0.0]
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - started


def measure(fn: Callable[[int], Any], *, warmup: int, repeats: int, deadline: Deadline | None = None) -> Stats:
    """Call `fn(i)` `warmup` times unrecorded, then `repeats` times recorded; wall time statistics in seconds.

    `fn` gets the call index (warm-up calls get negative indices), so it can use a new input per call.
    When `deadline` expires after at least one recorded call, the remaining repeats are skipped (`Stats.count`
    says how many ran).

    Raises:
        ValueError: `repeats` < 1 or `warmup` < 0.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for index in range(-warmup, 0):
        fn(index)
    samples: list[float] = []
    for index in range(repeats):
        started = time.perf_counter()
        fn(index)
        samples.append(time.perf_counter() - started)
        if deadline is not None and deadline.expired():
            break
    return Stats.of(samples)


class Deadline:
    """A wall-time budget: `expired()`, `remaining()`, and nested sub-budgets that never outlive it.

    Args:
        seconds: the budget from now.
    """

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self._end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def sub(self, seconds: float) -> Deadline:
        """A budget of `seconds` from now, cut to what remains of this one."""
        return Deadline(min(float(seconds), self.remaining()))


class Accumulator:
    """Sum the wall time spent in `module.name` while installed (a benchmark-only probe, restored on exit).

    Use it for a function that another function calls by its module-level name, e.g.
    `Accumulator("model.predictor", "paste_mask")` around `Predictor.find`. Not thread-safe; single-threaded
    benchmarks only.

    Args:
        module: dotted module path; name: the attribute (a function) to wrap.
    """

    def __init__(self, module: str, name: str):
        self.module = importlib.import_module(module)
        self.name = name
        self.seconds = 0.0
        self.calls = 0
        self._original: Callable | None = None

    def reset(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def __enter__(self) -> Accumulator:
        original = getattr(self.module, self.name)
        self._original = original

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        setattr(self.module, self.name, timed)
        return self

    def __exit__(self, *exc) -> None:
        setattr(self.module, self.name, self._original)
