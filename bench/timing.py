"""Wall-time measuring shared by the benchmark's sections."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def best_time(work: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    """Return the best wall time of `repeat` calls of `work` (the one the machine disturbed
    least) and the last call's result, which is freed outside the timed region."""
    best = float("inf")
    kept: list[T] = []
    for _ in range(repeat):
        kept.clear()  # the previous result is freed here, before the clock starts
        started = time.perf_counter()
        kept.append(work())
        best = min(best, time.perf_counter() - started)
    return best, kept[0]


def p95(seconds: Sequence[float]) -> float:
    """Return the 95th percentile (nearest rank) of the seconds, in milliseconds."""
    ordered = sorted(seconds)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000
