"""Wall-time measuring shared by the benchmark's CPU-only sections (scoring, parsing)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(work: Callable[[], object], repeat: int = 3) -> float:
    """Return the best wall time of `repeat` calls of `work`: the one the machine disturbed least."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best
