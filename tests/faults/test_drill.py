"""The drill, small: 60 calls over HTTP per fault (worker -9, Temporal restart, PostgreSQL restart).

Real processes throughout (bench/drill_stack.py): two `duban web`, one `duban worker`, a Temporal
dev server on a SQLite file and a PostgreSQL instance of the test's own, so restarting it
disturbs nobody else. Every 2xx is found exactly once in the workflow history, the read model
and the audit trail; nothing else is; the chain verifies. `make drill` runs 1,000 per fault.
"""

from __future__ import annotations

from pathlib import Path

from bench.drill import ClientPolicy, drill, report

PER_FAULT = 20  # assignments, three calls each


async def test_drill_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    how = ClientPolicy(concurrency=PER_FAULT, retry_cap=1.0, deadline=150.0)
    result = await drill(tmp_path, per_fault=PER_FAULT, how=how)
    print(report(result, PER_FAULT, how))  # noqa: T201 - shown with -s, and on failure
    assert "intact" in result.verified, result.verified
    for t in result.tallies:
        assert t.sent == 3 * PER_FAULT, t
        assert t.in_flight > 0, t  # the fault hit calls still waiting for an answer
        assert (t.lost, t.duplicated, t.phantom) == (0, 0, 0), t.problems
        assert (t.other_5xx, t.no_retry_after, t.gave_up) == (0, 0, 0), t
        assert t.ok + t.refused == t.sent, t
        assert all(200 <= s < 500 or s == 503 for s in t.statuses), t.statuses
