"""Benchmark: compile synthetic assignment-periods with the rubric and show time per 100k."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import partial

from bench.timing import best_time
from duban.domain import AssignmentRole
from duban.scoring import PeriodOutcome, compile_scores
from policies.rubric import load_rubric

SIZES = (10_000, 50_000, 100_000, 200_000)
AS_OF = datetime(2026, 12, 31, tzinfo=UTC)
_START = datetime(2026, 1, 1, tzinfo=UTC)


def _outcome(rng: random.Random, i: int) -> PeriodOutcome:
    """Return one synthetic outcome with a realistic mix of on-time, late and escalated periods."""
    dept = rng.randrange(60)
    due = _START + timedelta(days=rng.randrange(360))
    closed = due + timedelta(hours=rng.randrange(-240, 600)) if rng.random() < 0.85 else None
    late = (closed is not None and closed > due) or (closed is None and due < AS_OF)
    levels = tuple(range(1, rng.randrange(4) + 1)) if late and rng.random() < 0.5 else ()
    extensions = 1 if rng.random() < 0.1 else 0
    return PeriodOutcome(
        assignment_id=i // 4,
        department_code=f"D{dept:03d}",
        department_name=f"部门{dept}",
        official=f"head{dept}-{rng.randrange(2)}",
        task_number=5 + i % 25,
        role=AssignmentRole.LEAD if rng.random() < 0.4 else AssignmentRole.CO,
        period_index=i % 4,
        period_label=f"2026Q{i % 4 + 1}",
        due_at=due + timedelta(days=30 * extensions),
        original_due_at=due,
        closed_at=closed,
        approved=closed is not None,
        rating=rng.randrange(1, 6) if closed is not None else None,
        escalation_levels=levels,
        returns=rng.choice((0, 0, 0, 1, 2)),
        extensions_granted=extensions,
        historic=rng.random() < 0.02,
        event_ids=(4 * i, 4 * i + 1, 4 * i + 2),
    )


def _best_of(outcomes: list[PeriodOutcome]) -> tuple[float, int]:
    """Return the best wall time of `compile_scores` and the number of lines it made."""
    best, rows = best_time(partial(compile_scores, outcomes, load_rubric(), as_of=AS_OF))
    return best, sum(len(row.lines) for row in rows)


def _floor(outcomes: list[PeriodOutcome]) -> dict[str, list[float]]:
    """The least any scoring does: one pass that groups periods by department with a number each."""
    by_department: dict[str, list[float]] = {}
    for o in outcomes:
        late = o.closed_at is None or o.closed_at > o.due_at
        points = (o.rating or 0) - (2.0 if late else 0.0) - len(o.escalation_levels)
        by_department.setdefault(o.department_code, []).append(points)
    return by_department


def run(report: list[str]) -> None:
    """Append a Markdown table of compile times per size (best of 3) to `report`."""
    rng = random.Random(20261128)
    pool = [_outcome(rng, i) for i in range(max(SIZES))]
    report += [
        "## Scoring: compile assignment-periods (best of 3)",
        "",
        "| periods | score lines | time (s) | time per 100k (s) | per-100k ratio to 10k "
        "| baseline pass (s) | ratio to baseline |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = 0.0
    for n in SIZES:
        seconds, lines = _best_of(pool[:n])
        floor, _ = best_time(partial(_floor, pool[:n]))
        per_100k = seconds * 100_000 / n
        base = base or per_100k
        report.append(
            f"| {n:,} | {lines:,} | {seconds:.3f} | {per_100k:.3f} | {per_100k / base:.2f} "
            f"| {floor:.3f} | {seconds / floor:.1f} |"
        )
    report += [
        "",
        "Target: < 1 s per 100k periods; a ratio near 1.00 means linear in size. The baseline",
        "is one plain pass over the same periods in the same run (group by department, one",
        "number each): the ratio to it stays comparable when this machine is slower or faster.",
        "",
    ]


if __name__ == "__main__":
    lines: list[str] = []
    run(lines)
    print("\n".join(lines))  # noqa: T201
