"""A module for `bench.timing.Accumulator` tests: `outer` calls `inner` by its module-level name."""

import time

PAUSE_S = 0.01


def inner(value: int) -> int:
    time.sleep(PAUSE_S)
    return value * 2


def outer(value: int) -> int:
    return inner(value) + inner(value)
