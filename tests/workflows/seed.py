"""Plain factories for workflow tests: departments, people, a policy and its assignments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from duban.domain import AssignmentRole, assignment_workflow_id
from duban.models import Assignment, Department, Policy, PolicyItem, PolicyVersion, User
from duban.services.head_term import sync_head_term
from workflows.assignment import AssignmentInput, PeriodSpec

DAY = timedelta(days=1)


@dataclass
class Seeded:
    """Ids of what `seed` created."""

    policy_key: str
    item: int
    assignment_ids: dict[str, int]
    users: dict[str, int] = field(default_factory=dict)

    def workflow_id(self, code: str) -> str:
        """Return the AssignmentWorkflow id of a department."""
        return assignment_workflow_id(self.policy_key, self.item, code)


def seed(
    factory: sessionmaker[Session],
    codes: tuple[str, ...] = ("fpb",),
    *,
    item: int = 5,
    deadlines: list[dict[str, str]] | None = None,
    horizon: str | None = None,
    created_at: datetime | None = None,
) -> Seeded:
    """Create a policy with one task, assignments for `codes` (first = lead) and users."""
    key = f"p-{uuid.uuid4().hex[:8]}"
    with factory.begin() as s:
        policy = Policy(
            key=key, title="测试政策", **({"created_at": created_at} if created_at else {})
        )
        version = PolicyVersion(
            policy=policy,
            version=1,
            content_sha256=uuid.uuid4().hex,
            source_text="…",
            parsed={"horizon": horizon},
        )
        s.add(
            PolicyItem(
                version=version,
                number=item,
                section_number=2,
                section_title="二",
                title="保持主要帮扶政策总体稳定",
                body="…",
                is_task=True,
                deadlines=deadlines or [],
            )
        )
        supervisor = User(username=f"sup-{key}", password_hash="x", role="supervisor")
        s.add(supervisor)
        ids: dict[str, int] = {}
        users = {"supervisor": supervisor}
        for n, code in enumerate(codes):
            dept = Department(code=f"{code}-{key}", name=f"省{code}-{key}")
            for role in ("staff", "head"):
                users[f"{code}-{role}"] = User(
                    username=f"{code}-{role}-{key}", password_hash="x", role=role, department=dept
                )
            role = AssignmentRole.LEAD if n == 0 else AssignmentRole.CO
            a = Assignment(
                policy=policy,
                item_number=item,
                department=dept,
                role=role,
                workflow_id=assignment_workflow_id(key, item, dept.code),
            )
            s.add_all([a, *users.values()])
            s.flush()
            ids[code] = a.id
        s.flush()
        for user in users.values():  # as the user service does: heads get their term
            sync_head_term(session=s, user=user, at=user.created_at)
        user_ids = {name: u.id for name, u in users.items()}
    return Seeded(key, item, ids, user_ids)


def code_of(seeded: Seeded, code: str) -> str:
    """Return the department code as stored (made unique per test)."""
    return f"{code}-{seeded.policy_key}"


def assignment_input(
    seeded: Seeded,
    code: str,
    periods: list[PeriodSpec],
    *,
    reminders: list[timedelta] | None = None,
    ladder: list[timedelta] | None = None,
    cos: list[str] | None = None,
    lead: str = "",
) -> AssignmentInput:
    """Build the input of one seeded assignment."""
    return AssignmentInput(
        policy_key=seeded.policy_key,
        item_number=seeded.item,
        department_code=code_of(seeded, code),
        assignment_id=seeded.assignment_ids[code],
        role=AssignmentRole.CO if lead else AssignmentRole.LEAD,
        periods=periods,
        reminder_offsets=reminders if reminders is not None else [7 * DAY, DAY],
        escalation_offsets=ladder if ladder is not None else [DAY, 7 * DAY, 14 * DAY],
        co_department_codes=[code_of(seeded, c) for c in cos or []],
        lead_department_code=code_of(seeded, lead) if lead else "",
    )


def quarterly(start: datetime, count: int = 2, historic: int = 0) -> list[PeriodSpec]:
    """Return `historic` past deadlines then `count` periods 90 days apart from `start`."""
    past = [
        PeriodSpec(i, start - (historic - i) * 30 * DAY, f"已过期限{i}", "deadline", True)
        for i in range(historic)
    ]
    return past + [
        PeriodSpec(historic + i, start + (i + 1) * 90 * DAY, f"第{i + 1}期") for i in range(count)
    ]
