"""Run a bench section in a Python process of its own and take its report lines."""

from __future__ import annotations

import asyncio
import sys


async def section_apart(lines: list[str], module: str, *args: str) -> None:
    """Append what `python -m <module> <args>` prints (its section of the report).

    A section that times Python code runs apart: after the workflow sections the bench's own
    process holds a large heap, and its collections and allocations then cost every timed
    call more (in one full run the pages came out 20-40% slower and scoring 2-3 times slower
    than alone); a deployed process does that work with none of it.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{module} exited with {process.returncode}")
    lines += out.decode("utf-8").rstrip("\n").split("\n")
