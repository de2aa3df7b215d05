"""The bare workflows' inputs: plain data imported once, passed through the sandbox like duban's
(`workflows/assignment_messages.py`). Defined in a workflow module, each sandboxed run would get
classes of its own, and the data converter would build a new schema for every run's input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BareInput:
    """How many signals or updates the bare workflow waits for before it completes."""

    expect: int = 1


@dataclass(frozen=True)
class BareParentInput:
    """Children to start: ids `{prefix}:{i}` for i in [0, n)."""

    prefix: str
    n: int
