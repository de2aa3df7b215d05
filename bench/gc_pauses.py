"""Bench (h): the worker's garbage-collector pauses at 10k+ workflows, with and without gc.freeze().

Each run is a rig of its own (dev server, fresh read model, duban's worker in this process).
`gc.callbacks` times every collection from its start to its stop while a synthetic policy's
workflows start and are acknowledged; the worker's task failures are the warnings the
Temporal SDK logs when a workflow activation fails.
"""

from __future__ import annotations

import gc
import io
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rig import bounded, idle, rig
from bench.timing import p95
from duban.process import freeze_after_start_up
from duban.settings import Settings


@dataclass
class Pauses:
    """Collections seen: each one's seconds, per generation."""

    seconds: list[float] = field(default_factory=list)
    by_generation: dict[int, int] = field(default_factory=dict)
    _started: float = 0.0

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds.append(time.perf_counter() - self._started)
        gen = int(info.get("generation", 0))
        self.by_generation[gen] = self.by_generation.get(gen, 0) + 1


class FailureCounter(logging.Handler):
    """Counts the SDK's warnings about failed workflow activations and task failures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failures = 0
        self.slow = 0  # workflow tasks over 5 s (the core's TMPRL1104 warning)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().lower()
        if "workflow" in message and ("fail" in message or "timed out" in message):
            self.failures += 1


RETRIED = re.compile(r"attempt\S*=\S*(\d+)")


@contextmanager
def core_log(counter: FailureCounter) -> Iterator[None]:
    """Copy what the SDK's core writes to the process's stdout and stderr (fds 1 and 2) into
    the counter, and on to where it was going.

    The core (Rust) logs a workflow task that ran over 5 s, and its `attempt` (above 1: an
    earlier attempt of that task failed or timed out), to the process's own streams, not to
    Python logging (to stdout here, so capturing stderr alone counted none).
    """
    with ExitStack() as stack:
        sinks = [(fd, stack.enter_context(_captured(fd))) for fd in (1, 2)]
        yield
    for fd, sink in sinks:
        text = sink.getvalue()
        (sys.stdout if fd == 1 else sys.stderr).write(text)
        for line in text.splitlines():
            if "Workflow task duration exceeded" in line:
                counter.slow += 1
            found = RETRIED.search(line)
            if found and int(found[1]) > 1:
                counter.failures += 1


@contextmanager
def _captured(fd: int) -> Iterator[io.StringIO]:
    """Redirect a file descriptor into a temporary file for the block; the text lands in the
    returned buffer once the block ends."""
    out = io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield out
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            out.write(sink.read().decode("utf-8", "replace"))


@contextmanager
def watching() -> Iterator[tuple[Pauses, FailureCounter]]:
    """Time collections and count workflow task failures within the block."""
    pauses, counter = Pauses(), FailureCounter()
    gc.callbacks.append(pauses.callback)
    sdk = logging.getLogger("temporalio")
    sdk.addHandler(counter)
    try:
        with core_log(counter):
            yield pauses, counter
    finally:
        gc.callbacks.remove(pauses.callback)
        sdk.removeHandler(counter)


@dataclass
class GcRun:
    """One rig's figures."""

    frozen: bool
    cache: int
    workflows: int
    seconds: float
    pauses: Pauses
    failures: int
    slow: int


async def one_run(n: int, acks: int, *, frozen: bool, cache: int) -> GcRun:
    """Start a synthetic policy of `n` assignments and acknowledge `acks` of them in a fresh rig
    whose workers cache `cache` runs."""
    from actions.temporal import acknowledge
    from bench.__main__ import ready_assignments, start_document, synthetic_text
    from workflows.assignment import ActionInput

    gc.unfreeze()
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="duban-gc-") as tmp:
        async with rig(Path(tmp), cache=cache) as r:
            if frozen:
                freeze_after_start_up()
            doc = Path(tmp) / "gc-policy.txt"
            doc.write_text(synthetic_text(n), encoding="utf-8")
            with watching() as (pauses, counter):
                started = time.perf_counter()
                _, _, seen, _, tasks = await start_document(r, doc)
                ids = ready_assignments(r.factory, acks)
                calls = [
                    lambda a=a: acknowledge(
                        r.client, a.workflow_id, ActionInput(f"gc-ack-{a.id}", r.user_id, "bench")
                    )
                    for a in ids
                ]
                await bounded(calls)
                await idle(r)
                took = time.perf_counter() - started
    gc.unfreeze()
    return GcRun(frozen, cache, seen + tasks, took, pauses, counter.failures, counter.slow)


def row(run: GcRun) -> str:
    """Return a report row of one run."""
    s = run.pauses.seconds
    gens = ", ".join(f"gen{g}: {k}" for g, k in sorted(run.pauses.by_generation.items()))
    return (
        f"| {'gc.freeze() after start-up' if run.frozen else 'no freeze'} | {run.cache:,} "
        f"| {run.workflows} "
        f"| {len(s)} ({gens}) | {p95(s) if s else 0:.1f} | {max(s, default=0) * 1000:.1f} "
        f"| {sum(s):.2f} | {run.seconds:.1f} | {run.slow} | {run.failures} |"
    )


OLD_CACHE = 20_000  # the cache before it was chosen by this measurement


async def run(lines: list[str], n: int, acks: int) -> None:
    """Append section (h) to the report."""
    cache = Settings.model_fields["worker_cache"].default
    runs = [
        await one_run(n, acks, frozen=False, cache=OLD_CACHE),
        await one_run(n, acks, frozen=True, cache=OLD_CACHE),
        await one_run(n, acks, frozen=True, cache=cache),
    ]
    worst = [max(r.pauses.seconds, default=0.0) * 1000 for r in runs]
    lines += [
        "## (h) Worker GC pauses at scale",
        "",
        f"Fresh rigs, each starting a synthetic policy of {n:,} assignments (and its task",
        f"workflows) and acknowledging {acks} of them; duban's worker runs in this process. A",
        "full collection walks every cached run, so the pause grows with the cache; a workflow",
        "task caught in a pause over 2 s fails as a deadlock (TMPRL1101). Runs: no freeze and",
        f"the earlier cache of {OLD_CACHE:,} runs; `gc.freeze()` after start-up (cli/worker.py",
        f"does it) with that cache; and with the default `DUBAN_WORKER_CACHE` of {cache:,}. Every",
        "collection is timed with `gc.callbacks`. Failures: workflow tasks the SDK's core logged",
        "on a later attempt (an earlier attempt failed or timed out) plus the Python SDK's",
        "warnings about failed activations. Slow: tasks the core logged as over 5 s.",
        "",
        "| worker | cache | workflows | collections | p95 pause (ms) | longest pause (ms) "
        "| all pauses (s) | phase (s) | workflow tasks over 5 s | workflow task failures |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        *(row(r) for r in runs),
        "",
        f"Longest pause {worst[0]:.1f} ms without freezing ({OLD_CACHE:,} cached), "
        f"{worst[1]:.1f} ms with `gc.freeze()` after start-up, {worst[2]:.1f} ms with it and "
        f"a cache of {cache:,}.",
        "",
    ]
