"""bench.timing: statistics, measuring, deadlines and the in-function accumulator (no timing is asserted)."""

from __future__ import annotations

import math
import time

import accumulator_target
import pytest

from bench.timing import Accumulator, Deadline, Stats, measure, ratio, stopwatch


def test_stats_median_and_range_of_even_and_odd_counts():
    assert Stats.of([3.0, 1.0, 2.0]) == Stats(2.0, 1.0, 3.0, 3)
    even = Stats.of([4.0, 1.0, 3.0, 2.0])
    assert (even.median, even.low, even.high, even.count) == (2.5, 1.0, 4.0, 4)


@pytest.mark.parametrize("samples", [[], [1.0, math.nan], [math.inf]])
def test_stats_refuses_empty_or_non_finite_samples(samples):
    with pytest.raises(ValueError):
        Stats.of(samples)


def test_stats_scaled_and_formatted():
    stats = Stats.of([0.1234, 0.2, 0.05])
    scaled = stats.scaled(1000)
    assert scaled.count == 3
    assert (scaled.median, scaled.low, scaled.high) == pytest.approx((123.4, 50.0, 200.0))
    assert stats.ms() == "123 (50.0-200)"
    assert stats.to_dict(2) == {"median": 0.12, "min": 0.05, "max": 0.2, "n": 3}


def test_ratio_is_none_for_zero_or_non_finite():
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) is None
    assert ratio(math.nan, 1.0) is None
    assert ratio(1.0, math.inf) is None


def test_measure_calls_warmup_then_repeats_with_indices():
    calls = []
    stats = measure(calls.append, warmup=2, repeats=3)
    assert calls == [-2, -1, 0, 1, 2]
    assert stats.count == 3 and 0 <= stats.low <= stats.median <= stats.high


def test_measure_stops_at_an_expired_deadline_after_one_recorded_call():
    calls = []
    stats = measure(calls.append, warmup=1, repeats=10, deadline=Deadline(0.0))
    assert calls == [-1, 0]
    assert stats.count == 1


@pytest.mark.parametrize(("warmup", "repeats"), [(0, 0), (-1, 1)])
def test_measure_refuses_bad_counts(warmup, repeats):
    with pytest.raises(ValueError):
        measure(lambda i: None, warmup=warmup, repeats=repeats)


def test_deadline_sub_budget_never_outlives_the_parent():
    parent = Deadline(0.05)
    child = parent.sub(3600)
    assert child.remaining() <= 0.05
    assert parent.sub(0.0).expired()
    time.sleep(0.06)
    assert parent.expired() and child.expired()
    assert parent.remaining() == 0.0


def test_stopwatch_reports_the_block_time():
    with stopwatch() as elapsed:
        time.sleep(0.01)
    assert elapsed[0] >= 0.01


def test_accumulator_sums_calls_made_by_name_and_restores_the_function():
    original = accumulator_target.inner
    with Accumulator("accumulator_target", "inner") as acc:
        assert accumulator_target.outer(3) == 12
        assert acc.calls == 2
        assert acc.seconds >= 2 * accumulator_target.PAUSE_S
        acc.reset()
        assert (acc.calls, acc.seconds) == (0, 0.0)
    assert accumulator_target.inner is original


def test_accumulator_restores_the_function_after_an_exception():
    original = accumulator_target.inner
    with pytest.raises(RuntimeError), Accumulator("accumulator_target", "inner"):
        raise RuntimeError("boom")
    assert accumulator_target.inner is original
