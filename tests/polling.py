"""Waiting in tests: poll a condition until a deadline, never sleep a guessed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 30.0, every: float = 0.05
) -> T:
    """Return the first truthy result of `check`; fail with the last result at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not true within {within}s: {result!r}")
        await asyncio.sleep(every)


def wait_until(check: Callable[[], bool], *, within: float = 30.0, what: str = "condition") -> None:
    """Poll a synchronous `check` until it is true; fail at the deadline."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        time.sleep(0.05)
