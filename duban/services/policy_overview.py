"""The policies read side: every policy with its counts and lights, and one document with its tasks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from duban.errors import NotFound
from duban.models import (
    Assignment,
    AuditEvent,
    Policy,
    PolicyDraft,
    PolicyItem,
    PolicyVersion,
)
from duban.services.assignment import Light, StatusLight, status_light
from duban.services.board import LIGHTS
from duban.services.target import (
    TargetTrack,
    first_miss,
    projected_misses,
    task_tracks,
    tracks_of,
)


@dataclass
class Lights:
    """How many assignments show each light, and the worst one."""

    counts: dict[Light, int] = field(default_factory=lambda: dict.fromkeys(LIGHTS, 0))

    def add(self, light: StatusLight) -> None:
        """Count one assignment's light."""
        self.counts[light.color] += 1

    @property
    def worst(self) -> Light:
        """Return the worst light counted (green when none)."""
        return next((light for light in LIGHTS if self.counts[light]), Light.GREEN)

    @property
    def total(self) -> int:
        """Return how many assignments were counted."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class PolicySummary:
    """One policy as the list shows it."""

    policy: Policy
    version: int
    tasks: int
    assignments: int
    lights: Lights

    @property
    def issuer(self) -> str:
        """Return who issued the document, as its title names it (empty when it does not)."""
        return issuer_of(self.policy.title)


def issuer_of(title: str) -> str:
    """Return the issuer a document title opens with: 国务院办公厅关于… → 国务院办公厅.

    Official titles name the issuing organ before 关于 (GB/T 9704); a title without it, or
    with an implausibly long head, names no issuer.
    """
    head, found, _ = title.partition("关于")
    return head.strip() if found and 0 < len(head.strip()) <= 40 else ""


@dataclass(frozen=True)
class AssignmentLight:
    """An assignment of an item with its light."""

    assignment: Assignment
    light: StatusLight


@dataclass(frozen=True)
class DocumentItem:
    """An item of the published text with the assignments its task runs."""

    item: PolicyItem
    assignments: list[AssignmentLight]
    # The task's targets with a series of actuals per department.
    tracks: list[TargetTrack] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyDocument:
    """A policy's current version, item by item, with sections and the draft it came from."""

    policy: Policy
    version: PolicyVersion
    sections: list[tuple[int, str, list[DocumentItem]]]
    lights: Lights
    draft_id: int | None


def _active_assignments(session: Session, policy_ids: list[int] | None = None) -> list[Assignment]:
    """Return the active assignments (of the given policies), each policy loaded once: the
    callers hold the policies already, and a joined policy repeated its row on every one."""
    stmt = (
        select(Assignment)
        .where(Assignment.removed_in_version.is_(None))
        .options(lazyload(Assignment.policy))
    )
    if policy_ids is not None:
        stmt = stmt.where(Assignment.policy_id.in_(policy_ids))
    return list(session.scalars(stmt.order_by(Assignment.item_number, Assignment.id)))


def list_policies(*, session: Session, now: datetime) -> list[PolicySummary]:
    """Return every policy, newest first, with its task and assignment counts and lights."""
    policies = list(session.scalars(select(Policy).order_by(Policy.id.desc())))
    tasks = dict(
        session.execute(
            select(PolicyVersion.policy_id, func.count(PolicyItem.id))
            .join(PolicyItem, PolicyItem.version_id == PolicyVersion.id)
            .join(Policy, Policy.id == PolicyVersion.policy_id)
            .where(PolicyVersion.version == Policy.current_version, PolicyItem.is_task)
            .group_by(PolicyVersion.policy_id)
        ).all()
    )
    lights: dict[int, Lights] = defaultdict(Lights)
    active = list(_active_assignments(session))
    misses = projected_misses(session=session, assignments=active, today=now.date())
    for a in active:
        light = status_light(due_at=a.due_at, now=now, state=a.state, miss=misses.get(a.id))
        lights[a.policy_id].add(light)
    return [
        PolicySummary(
            policy=p,
            version=p.current_version,
            tasks=int(tasks.get(p.id, 0)),
            assignments=lights[p.id].total,
            lights=lights[p.id],
        )
        for p in policies
    ]


def policy_document(*, session: Session, policy_id: int, now: datetime) -> PolicyDocument:
    """Return a policy's current text item by item, each task with its assignments' lights."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFound(f"政策 {policy_id} 不存在")
    version = session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.current_version
        )
    ).one()
    by_item: dict[int, list[AssignmentLight]] = defaultdict(list)
    lights = Lights()
    active = list(_active_assignments(session, [policy.id]))
    per = tracks_of(session=session, assignments=active, today=now.date())
    for a in active:
        light = status_light(due_at=a.due_at, now=now, state=a.state, miss=first_miss(per[a.id]))
        lights.add(light)
        by_item[a.item_number].append(AssignmentLight(a, light))
    sections: dict[int, tuple[str, list[DocumentItem]]] = {}
    for item in version.items:
        entry = sections.setdefault(item.section_number, (item.section_title, []))
        rows = sorted(by_item[item.number], key=_lead_first)
        tracks = task_tracks(per, [r.assignment for r in rows])
        entry[1].append(DocumentItem(item, rows, tracks))
    draft_id = session.scalar(
        select(PolicyDraft.id).where(
            PolicyDraft.published_policy_id == policy.id,
            PolicyDraft.published_version == version.version,
        )
    )
    return PolicyDocument(
        policy=policy,
        version=version,
        sections=[(n, title, rows) for n, (title, rows) in sorted(sections.items())],
        lights=lights,
        draft_id=draft_id,
    )


def _lead_first(row: AssignmentLight) -> tuple[int, int]:
    return (0 if row.assignment.role == "lead" else 1, row.assignment.id)


@dataclass(frozen=True)
class StartProgress:
    """How many of a policy's assignments have opened their first period (workflows running)."""

    opened: int
    total: int

    @property
    def done(self) -> bool:
        """Tell whether every assignment is running."""
        return self.opened >= self.total


def start_progress(*, session: Session, policy_id: int) -> StartProgress:
    """Count the policy's active assignments and those whose workflow opened a period."""
    active = select(Assignment.id).where(
        Assignment.policy_id == policy_id, Assignment.removed_in_version.is_(None)
    )
    total = len(session.scalars(active).all())
    opened = session.scalar(
        select(func.count(func.distinct(AuditEvent.assignment_id))).where(
            AuditEvent.kind == "period_opened", AuditEvent.assignment_id.in_(active)
        )
    )
    return StartProgress(opened=int(opened or 0), total=total)
