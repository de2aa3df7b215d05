"""Rubric versions kept by the assessment office, and frozen evaluations compared with recomputations."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.errors import Conflict, Invalid, NotFound
from duban.models import Evaluation, RubricVersion, User
from duban.scoring import GroupBy, ScoreRow, evaluation_digest, freeze_evaluation
from duban.services.assessment import check_period, load_outcomes, scores
from duban.services.audit import chain_head, record_event
from policies.rubric import DEFAULT_PATH, Rubric, RubricError, parse_rubric

MAX_RUBRIC_CHARS = 20_000


def parse_rubric_text(source: str) -> Rubric:
    """Validate a rubric's TOML text, or raise Invalid with a one-line reason."""
    if len(source) > MAX_RUBRIC_CHARS:
        raise Invalid(f"评分细则过长（上限 {MAX_RUBRIC_CHARS} 字符）")
    try:
        return parse_rubric(tomllib.loads(source))
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"评分细则不是有效的 TOML：{exc}") from exc
    except RubricError as exc:
        raise Invalid(f"评分细则有误：{exc}") from exc


def _seed(session: Session) -> RubricVersion:
    """Store the bundled rubric file as the first version."""
    source = DEFAULT_PATH.read_text(encoding="utf-8")
    rubric = parse_rubric_text(source)
    row = RubricVersion(
        version=rubric.version,
        fingerprint=rubric.fingerprint(),
        title=rubric.title,
        source=source,
        created_by_label="默认细则文件",
    )
    session.add(row)
    session.flush()
    return row


def current_rubric_row(*, session: Session) -> RubricVersion:
    """Return the rubric version in force (the newest), storing the bundled file first if none."""
    row = session.scalar(select(RubricVersion).order_by(RubricVersion.id.desc()).limit(1))
    return row if row is not None else _seed(session)


def current_rubric(*, session: Session) -> Rubric:
    """Return the rubric in force."""
    return parse_rubric_text(current_rubric_row(session=session).source)


def rubric_history(*, session: Session) -> list[RubricVersion]:
    """Return every stored rubric version, newest first."""
    current_rubric_row(session=session)
    return list(session.scalars(select(RubricVersion).order_by(RubricVersion.id.desc())))


def save_rubric(*, session: Session, source: str, user: User) -> tuple[RubricVersion, bool]:
    """Store a validated rubric as a new version; return (row, created). Same text twice: no change."""
    rubric = parse_rubric_text(source)
    current_rubric_row(session=session)
    same = session.scalar(select(RubricVersion).where(RubricVersion.version == rubric.version))
    if same is not None:
        if same.fingerprint == rubric.fingerprint():
            return same, False
        raise Conflict(f"评分细则版本 {rubric.version} 已存在且内容不同，请更新 version")
    row = RubricVersion(
        version=rubric.version,
        fingerprint=rubric.fingerprint(),
        title=rubric.title,
        source=source,
        created_by_id=user.id,
        created_by_label=user.display_name or user.username,
    )
    session.add(row)
    session.flush()
    return row, True


def row_json(row: ScoreRow) -> dict[str, Any]:
    """Return a score row as stored in a frozen evaluation: the API shape plus every line."""
    out = row.to_json()
    out["periods"] = row.periods
    out["lines"] = [
        {
            "points": round(line.points, 6),
            "reason": line.reason,
            "rule": line.rule,
            "event_ids": list(line.event_ids),
            "assignment_id": line.assignment_id,
            "period_index": line.period_index,
        }
        for line in row.lines
    ]
    return out


def freeze(
    *, session: Session, period: str, by: GroupBy, as_of: datetime, user: User
) -> tuple[Evaluation, bool]:
    """Compile a period and store it frozen; the same result frozen twice is stored once."""
    check_period(period)
    rubric = current_rubric(session=session)
    outcomes = load_outcomes(session=session, as_of=as_of, period=period)
    ev = freeze_evaluation(outcomes, rubric, as_of=as_of, period=period, by=by)
    same = session.scalar(
        select(Evaluation).where(
            Evaluation.period == period, Evaluation.by == by, Evaluation.digest == ev.digest
        )
    )
    if same is not None:
        return same, False
    head = chain_head(session=session)
    row = Evaluation(
        period=period,
        by=by,
        digest=ev.digest,
        rubric_version=rubric.version,
        rubric_fingerprint=rubric.fingerprint(),
        as_of=as_of,
        rows=[row_json(r) for r in ev.rows],
        created_by_id=user.id,
        created_by_label=user.display_name or user.username,
        chain_seq=head.seq,
        chain_hash=head.hash,
    )
    session.add(row)
    session.flush()
    data = {"evaluation_id": row.id, "period": period, "by": by, "digest": ev.digest}
    record_event(session=session, kind="evaluation_frozen", actor=user, data=data)
    return row, True


def get_evaluation(*, session: Session, evaluation_id: int) -> Evaluation:
    """Return a frozen evaluation, or raise NotFound."""
    row = session.get(Evaluation, evaluation_id)
    if row is None:
        raise NotFound("考核结果不存在")
    return row


def list_evaluations(*, session: Session, period: str | None = None) -> list[Evaluation]:
    """Return frozen evaluations, newest first (optionally of one period)."""
    q = select(Evaluation).order_by(Evaluation.id.desc())
    if period is not None:
        q = q.where(Evaluation.period == check_period(period))
    return list(session.scalars(q))


@dataclass(frozen=True)
class Difference:
    """One row whose score or rank differs between the frozen and the recomputed evaluation."""

    key: str
    name: str
    frozen_score: float | None
    frozen_rank: int | None
    score: float | None
    rank: int | None


@dataclass(frozen=True)
class Comparison:
    """A frozen evaluation beside a recomputation now: matches, or the differences."""

    evaluation: Evaluation
    digest: str
    rubric_version: str
    as_of: datetime
    differences: tuple[Difference, ...]

    @property
    def matches(self) -> bool:
        """Tell whether the recomputation reproduces the frozen digest."""
        return self.digest == self.evaluation.digest


def _key_of(row: dict[str, Any], by: str) -> tuple[str, str]:
    """Return (key, name) of a stored row."""
    who = row[by]
    return str(who.get("code") or who.get("username")), str(who["name"])


def _differences(frozen: list[dict[str, Any]], now: list[ScoreRow], by: str) -> list[Difference]:
    """Return the rows whose score or rank changed, or that appear on one side only."""
    old = {_key_of(r, by)[0]: r for r in frozen}
    new = {r.key: r for r in now}
    out: list[Difference] = []
    for key in sorted(old.keys() | new.keys()):
        o, n = old.get(key), new.get(key)
        pair_o = (o["score"], o["rank"]) if o else (None, None)
        pair_n = (n.score, n.rank) if n else (None, None)
        line_o = sorted(map(str, o["lines"])) if o else []
        line_n = sorted(map(str, row_json(n)["lines"])) if n else []
        if pair_o != pair_n or line_o != line_n:
            name = n.name if n else _key_of(o, by)[1] if o else key
            out.append(Difference(key, name, pair_o[0], pair_o[1], pair_n[0], pair_n[1]))
    return out


def compare(*, session: Session, evaluation_id: int, as_of: datetime) -> Comparison:
    """Recompute a frozen evaluation's period now, with the rubric in force, and list what changed."""
    ev = get_evaluation(session=session, evaluation_id=evaluation_id)
    rubric = current_rubric(session=session)
    by: GroupBy = "official" if ev.by == "official" else "department"
    rows = scores(session=session, rubric=rubric, period=ev.period, by=by, as_of=as_of)
    diffs = tuple(_differences(ev.rows, rows, by))
    return Comparison(ev, evaluation_digest(rows, rubric), rubric.version, as_of, diffs)
