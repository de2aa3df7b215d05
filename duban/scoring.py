"""Pure assessment scoring: period outcomes + rubric -> explainable score lines, rankings, digests."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from duban.domain import ESCALATION_LEVEL_NAMES, AssignmentRole
from policies.rubric import Rubric

GroupBy = Literal["department", "official"]
# China has kept UTC+8 without DST since 1991, so a fixed offset is exact and needs no tzdata.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_DAY = 86400.0
_NO_EVENTS: Mapping[str, tuple[int, ...]] = MappingProxyType({})
_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4]))?$")
_LEVEL_LABELS = {"department_head": "部门负责人", "supervisor": "督查室", "leadership": "领导"}
RULE_LABELS = {
    "completion": "办结",
    "lateness": "逾期",
    "escalation": "督办升级",
    "rating": "审核评价",
    "extension": "延期",
    "return": "退回整改",
    "target": "指标达成",
}


@dataclass(frozen=True, slots=True)
class PeriodOutcome:
    """What happened in one period of one assignment, as recorded events tell it."""

    assignment_id: int
    department_code: str
    department_name: str
    official: str | None  # username of the department head during the period
    task_number: int
    role: AssignmentRole
    period_index: int
    period_label: str
    due_at: datetime  # the due date in force (after any granted extension)
    original_due_at: datetime  # kept on record; decides which assessment period it falls in
    closed_at: datetime | None
    approved: bool
    rating: int | None
    escalation_levels: tuple[int, ...]
    returns: int
    extensions_granted: int
    historic: bool
    event_ids: tuple[int, ...]
    official_name: str | None = None
    # Optional finer tracing: rule id -> the events behind that rule's lines.
    events_by_rule: Mapping[str, tuple[int, ...]] | None = None
    # The targets whose actual reported for the period meets them, of those reported (指标).
    targets_met: int = 0
    targets_reported: int = 0


class ScoreLine(NamedTuple):
    """One scored point: its value, Chinese reason, source events and rule id."""

    points: float
    reason: str
    event_ids: tuple[int, ...]
    rule: str
    assignment_id: int = 0
    period_index: int = 0


class RuleTotal(NamedTuple):
    """The lines of one rule within a score row, summed."""

    rule: str
    label: str
    points: float
    line_count: int


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """A department's (or official's) total, rank, breakdown by rule and every line."""

    by: GroupBy
    key: str
    name: str
    score: float
    rank: int
    breakdown: tuple[RuleTotal, ...]
    lines: tuple[ScoreLine, ...]
    periods: int

    def to_json(self) -> dict[str, Any]:
        """Return the API shape of a score row (DESIGN.md, "a score row")."""
        who = "code" if self.by == "department" else "username"
        return {
            self.by: {who: self.key, "name": self.name},
            "score": self.score,
            "rank": self.rank,
            "breakdown": [
                {
                    "rule": t.rule,
                    "label": t.label,
                    "points": round(t.points, 2),
                    "count": t.line_count,
                }
                for t in self.breakdown
            ],
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A compiled, frozen evaluation: rows plus the digest that pins them."""

    period: str | None
    by: GroupBy
    rubric_version: str
    as_of: datetime
    rows: tuple[ScoreRow, ...]
    digest: str


class _RoleTable:
    """Per-rubric, per-role constants: weighted points and their reasons, computed once."""

    def __init__(self, rubric: Rubric, role: str, weight: float) -> None:
        """Precompute every line that does not depend on a count."""
        self.rubric = rubric
        self.weight = weight
        self.suffix = (
            "" if weight == 1.0 else f"（{'配合' if role == 'co' else '牵头'}×{weight:g}）"
        )
        self.completion = (rubric.completion_points * weight, f"审核通过办结{self.suffix}")
        self.escalation = {
            level: (-cost * weight, f"督办升级至第{level}级（{_level_label(level)}）{self.suffix}")
            for level, cost in enumerate(rubric.escalation_costs, start=1)
        }
        self.rating = {
            r: (pts * rubric.rating_weight * weight, f"审核评价{r}星{self.suffix}")
            for r, pts in enumerate(rubric.rating_points, start=1)
        }
        self.late: dict[int, tuple[float, str]] = {}
        self.extension: dict[int, tuple[float, str]] = {}
        self.returned: dict[int, tuple[float, str]] = {}

    def late_line(self, days: int) -> tuple[float, str]:
        """Return the lateness deduction of `days` days late (capped)."""
        if (hit := self.late.get(days)) is None:
            r = self.rubric
            raw = min(days * r.late_per_day, r.late_cap)
            capped = "，已达上限" if days * r.late_per_day > r.late_cap else ""
            hit = (
                -raw * self.weight,
                f"逾期{days}天，每天扣{r.late_per_day:g}分{capped}{self.suffix}",
            )
            self.late[days] = hit
        return hit

    def count_line(self, rule: str, n: int) -> tuple[float, str]:
        """Return the deduction of `n` granted extensions or returned submissions."""
        cache = self.extension if rule == "extension" else self.returned
        if (hit := cache.get(n)) is None:
            r = self.rubric
            cost, what = (
                (r.extension_cost, "获批延期")
                if rule == "extension"
                else (r.return_cost, "报送被退回")
            )
            hit = (-cost * n * self.weight, f"{what}{n}次，每次扣{cost:g}分{self.suffix}")
            cache[n] = hit
        return hit


def _level_label(level: int) -> str:
    """Return the Chinese name of an escalation rung."""
    return _LEVEL_LABELS.get(ESCALATION_LEVEL_NAMES.get(level, ""), "")


@lru_cache(maxsize=16)
def _tables(rubric: Rubric) -> dict[str, _RoleTable]:
    """Return the role tables of a rubric, built once per rubric."""
    return {
        AssignmentRole.LEAD: _RoleTable(rubric, "lead", rubric.lead_weight),
        AssignmentRole.CO: _RoleTable(rubric, "co", rubric.co_weight),
    }


def days_late(o: PeriodOutcome, as_of: datetime) -> int:
    """Return whole days (started days count) from the due date to closing, or to `as_of`."""
    end = o.closed_at if o.closed_at is not None else as_of
    seconds = (end - o.due_at).total_seconds()
    return math.ceil(seconds / _DAY) if seconds > 0 else 0


def _score_into(
    o: PeriodOutcome, tables: dict[str, _RoleTable], as_of: datetime, out: list[ScoreLine]
) -> None:
    """Append the score lines of one period to `out`."""
    if o.historic and not tables[AssignmentRole.LEAD].rubric.score_historic:
        return
    t = tables.get(o.role)
    if t is None:
        raise ValueError(f"unknown role {o.role!r} for assignment {o.assignment_id}")
    by_rule, ev, aid, idx = (
        o.events_by_rule or _NO_EVENTS,
        o.event_ids,
        o.assignment_id,
        o.period_index,
    )
    if o.approved:
        pts, why = t.completion
        out.append(ScoreLine(pts, why, by_rule.get("completion", ev), "completion", aid, idx))
        if o.rating is not None:
            if (hit := t.rating.get(o.rating)) is None:
                raise ValueError(f"rating {o.rating!r} is outside 1..5 (assignment {aid})")
            out.append(ScoreLine(hit[0], hit[1], by_rule.get("rating", ev), "rating", aid, idx))
    if o.approved and o.targets_reported and t.rubric.target_weight:
        share = o.targets_met / o.targets_reported
        pts = t.rubric.target_weight * share * t.weight
        why = f"指标达标{o.targets_met}/{o.targets_reported}项{t.suffix}"
        out.append(ScoreLine(pts, why, by_rule.get("target", ev), "target", aid, idx))
    if days := days_late(o, as_of):
        pts, why = t.late_line(days)
        out.append(ScoreLine(pts, why, by_rule.get("lateness", ev), "lateness", aid, idx))
    for level in o.escalation_levels:
        if (hit := t.escalation.get(level)) is None:
            raise ValueError(f"escalation level {level!r} is outside 1..3 (assignment {aid})")
        cited = by_rule.get(f"escalation:{level}") or by_rule.get("escalation", ev)
        out.append(ScoreLine(hit[0], hit[1], cited, "escalation", aid, idx))
    if o.extensions_granted:
        pts, why = t.count_line("extension", o.extensions_granted)
        out.append(ScoreLine(pts, why, by_rule.get("extension", ev), "extension", aid, idx))
    if o.returns:
        pts, why = t.count_line("return", o.returns)
        out.append(ScoreLine(pts, why, by_rule.get("return", ev), "return", aid, idx))


def score_period(
    outcome: PeriodOutcome, rubric: Rubric, *, as_of: datetime
) -> tuple[ScoreLine, ...]:
    """Score one period; an unfinished period past due counts days late up to `as_of`."""
    out: list[ScoreLine] = []
    _score_into(outcome, _tables(rubric), as_of, out)
    return tuple(out)


def period_bounds(label: str) -> tuple[datetime, datetime]:
    """Return [start, end) in UTC of an assessment period "2026" or "2026Q4" (China time)."""
    m = _PERIOD.match(label)
    if m is None:
        raise ValueError(f"period must look like 2026 or 2026Q4, got {label!r}")
    year, quarter = int(m[1]), m[2]
    first = 1 if quarter is None else 3 * int(quarter) - 2
    months = 12 if quarter is None else 3
    start = datetime(year, first, 1, tzinfo=CHINA_TZ)
    end_month = first + months
    end = datetime(year + (end_month > 12), (end_month - 1) % 12 + 1, 1, tzinfo=CHINA_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def filter_period(outcomes: Iterable[PeriodOutcome], label: str) -> list[PeriodOutcome]:
    """Keep the outcomes whose original due date falls in the period (an extension does not move it)."""
    start, end = period_bounds(label)
    return [o for o in outcomes if start <= o.original_due_at < end]


def _group_key(o: PeriodOutcome, by: GroupBy) -> tuple[str, str] | None:
    """Return (key, name) of the row an outcome belongs to; None leaves it out."""
    if by == "department":
        return o.department_code, o.department_name
    if o.official is None:  # no head on record: nobody to hold to account
        return None
    return o.official, o.official_name or o.official


def _breakdown(lines: list[ScoreLine]) -> tuple[RuleTotal, ...]:
    """Sum lines per rule, in the rubric's rule order."""
    per_rule: dict[str, list[float]] = {rule: [] for rule in RULE_LABELS}
    for line in lines:
        per_rule[line[3]].append(line[0])  # by index: this loop runs once per line
    return tuple(
        RuleTotal(rule, RULE_LABELS[rule], math.fsum(points), len(points))
        for rule, points in per_rule.items()
        if points
    )


def _ranked(
    by: GroupBy, groups: dict[str, tuple[str, list[ScoreLine], list[int]]]
) -> list[ScoreRow]:
    """Build rows, best first; equal scores share a rank (competition ranking 1,1,3)."""
    # fsum is exact, so a total never depends on the order outcomes arrived in.
    return _ranked_totals(
        by,
        {
            key: (
                name,
                round(math.fsum([line[0] for line in lines]), 2),
                _breakdown(lines),
                tuple(lines),
                count[0],
            )
            for key, (name, lines, count) in groups.items()
        },
    )


_Totals = tuple[str, float, tuple[RuleTotal, ...], tuple[ScoreLine, ...], int]


def _ranked_totals(by: GroupBy, groups: dict[str, _Totals]) -> list[ScoreRow]:
    """Rank (name, score, breakdown, lines, periods) per key, best first, ties sharing a rank."""
    totals = sorted(((t[1], key) for key, t in groups.items()), key=lambda p: (-p[0], p[1]))
    rows: list[ScoreRow] = []
    for position, (score, key) in enumerate(totals, start=1):
        rank = rows[-1].rank if rows and rows[-1].score == score else position
        name, _, breakdown, lines, periods = groups[key]
        # + 0.0 turns a rounded -0.0 into 0.0
        rows.append(ScoreRow(by, key, name, score + 0.0, rank, breakdown, lines, periods))
    return rows


def _exact_sum(points: Iterable[tuple[float, int]]) -> float:
    """Return the sum of each value repeated n times as math.fsum of the whole list gives it:
    the exact sum, rounded once."""
    return float(sum((Fraction(p) * n for p, n in points), Fraction(0)))


def compile_tallies(
    tallies: Iterable[tuple[PeriodOutcome, int]],
    rubric: Rubric,
    *,
    as_of: datetime,
    by: GroupBy = "department",
) -> list[ScoreRow]:
    """Rank like compile_scores where each (outcome, n) stands for n periods that score alike:
    the same scores, ranks, breakdowns and period counts, without the lines (the ledger pages
    them from the periods themselves)."""
    if by not in ("department", "official"):
        raise ValueError(f"by must be 'department' or 'official', got {by!r}")
    tables = _tables(rubric)
    groups: dict[str, tuple[str, dict[str, list[tuple[float, int]]], list[int]]] = {}
    for o, n in tallies:
        if (who := _group_key(o, by)) is None:
            continue
        group = groups.get(who[0])
        if group is None:
            group = groups[who[0]] = (who[1], {rule: [] for rule in RULE_LABELS}, [0])
        group[2][0] += n
        lines: list[ScoreLine] = []
        _score_into(o, tables, as_of, lines)
        for line in lines:
            group[1][line.rule].append((line.points, n))
    return _ranked_totals(
        by,
        {
            key: (
                name,
                round(_exact_sum(p for pairs in per_rule.values() for p in pairs), 2),
                tuple(
                    RuleTotal(rule, RULE_LABELS[rule], _exact_sum(pairs), sum(n for _, n in pairs))
                    for rule, pairs in per_rule.items()
                    if pairs
                ),
                (),
                count[0],
            )
            for key, (name, per_rule, count) in groups.items()
        },
    )


def compile_scores(
    outcomes: Iterable[PeriodOutcome],
    rubric: Rubric,
    *,
    as_of: datetime,
    by: GroupBy = "department",
    period: str | None = None,
) -> list[ScoreRow]:
    """Score every outcome and total them per department or official, ranked best first."""
    if by not in ("department", "official"):
        raise ValueError(f"by must be 'department' or 'official', got {by!r}")
    selected = filter_period(outcomes, period) if period is not None else outcomes
    tables = _tables(rubric)
    groups: dict[str, tuple[str, list[ScoreLine], list[int]]] = {}
    # No gc.disable() here: the collector is process-wide state, and the web server scores
    # in threads beside requests that need it.
    for o in selected:
        if (who := _group_key(o, by)) is None:
            continue
        group = groups.get(who[0])
        if group is None:
            group = groups[who[0]] = (who[1], [], [0])
        group[2][0] += 1
        _score_into(o, tables, as_of, group[1])
    return _ranked(by, groups)


def _canonical_row(row: ScoreRow) -> list[Any]:
    """Return a row as plain JSON data, lines in a fixed order."""
    lines = sorted(
        [
            line.assignment_id,
            line.period_index,
            line.rule,
            round(line.points, 6),
            line.reason,
            list(line.event_ids),
        ]
        for line in row.lines
    )
    totals = [[t.rule, round(t.points, 6), t.line_count] for t in row.breakdown]
    return [row.by, row.key, row.name, row.score, row.rank, row.periods, totals, lines]


def evaluation_digest(rows: Iterable[ScoreRow], rubric: Rubric) -> str:
    """Return a SHA-256 over a canonical JSON of compiled rows and the rubric that made them."""
    body = {
        "rubric": {"version": rubric.version, "fingerprint": rubric.fingerprint()},
        "rows": sorted((_canonical_row(row) for row in rows), key=lambda r: (r[0], r[1])),
    }
    blob = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def freeze_evaluation(
    outcomes: Iterable[PeriodOutcome],
    rubric: Rubric,
    *,
    as_of: datetime,
    period: str | None = None,
    by: GroupBy = "department",
) -> Evaluation:
    """Compile a period and pin the result with its digest, so a recomputation can be compared."""
    rows = tuple(compile_scores(outcomes, rubric, as_of=as_of, by=by, period=period))
    return Evaluation(period, by, rubric.version, as_of, rows, evaluation_digest(rows, rubric))
