"""An amendment draft against the running version: items, departments, deadlines, and the assignments it touches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.models import Assignment, Policy, PolicyDraft, PolicyItem, PolicyVersion
from duban.services.draft_cadence import cadence_name, effective, version_cadence
from duban.services.policy import content_sha256, policy_key_from_name
from policies.units import unknown_code

CADENCE_WORD = "报送周期"
# What changes an assignment's periods: its deadlines or its cadence.
REPLANS = ("时限", CADENCE_WORD)


@dataclass(frozen=True)
class ItemChange:
    """One task added, removed or changed, with what changed in words."""

    number: int
    title: str
    kind: str
    details: tuple[str, ...] = ()
    label: str = ""


@dataclass
class DraftDiff:
    """What publishing the amendment does to the running policy."""

    policy: Policy
    version: int
    items: list[ItemChange] = field(default_factory=list)
    departments_added: list[str] = field(default_factory=list)
    departments_dropped: list[str] = field(default_factory=list)
    deadlines_moved: list[str] = field(default_factory=list)
    cadence_changed: str = ""  # the document's default, in words, when it changed
    assignments_started: int = 0
    assignments_withdrawn: int = 0
    assignments_role_changed: int = 0
    assignments_replanned: int = 0


def _code(unit: dict[str, Any]) -> str:
    return str(unit.get("code") or unknown_code(str(unit["name"])))


def _draft_tasks(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        int(i.get("ordinal") or i["number"]): i
        for i in data["items"]
        if i.get("units") and not i.get("excluded")
    }


def _running(session: Session, policy: Policy) -> tuple[dict[int, PolicyItem], dict[str, Any]]:
    version = session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.current_version
        )
    ).one()
    items = {i.number: i for i in version.items if i.is_task}
    return items, version.parsed or {}


def _item_details(old: PolicyItem, new: dict[str, Any], cadences: tuple[str, str]) -> list[str]:
    out = []
    if old.title != new["title"]:
        out.append(f"标题改为“{new['title'][:30]}”")
    before = {str(u.get("code")): (u["name"], u["role"]) for u in old.units}
    after = {_code(u): (u["name"], u["role"]) for u in new["units"]}
    out += [f"增加单位 {after[c][0]}" for c in after if c not in before]
    out += [f"去掉单位 {before[c][0]}" for c in before if c not in after]
    out += [
        f"{after[c][0]} 改为{'牵头' if after[c][1] == 'lead' else '配合'}"
        for c in after
        if c in before and before[c][1] != after[c][1]
    ]
    if cadences[0] != cadences[1]:
        out.append(f"{CADENCE_WORD} {cadence_name(cadences[0])} → {cadence_name(cadences[1])}")
    old_dates = sorted(d["date"] for d in old.deadlines)
    new_dates = sorted(d["date"] for d in new["deadlines"])
    if old_dates != new_dates:
        out.append(f"时限 {'、'.join(old_dates) or '无'} → {'、'.join(new_dates) or '无'}")
    return out


def draft_diff(*, session: Session, draft: PolicyDraft) -> DraftDiff | None:
    """Compare an amendment draft with its policy's running version (None for a new policy)."""
    if draft.base_policy_id is None:
        return None
    policy = session.get_one(Policy, draft.base_policy_id)
    (running, parsed), wanted = _running(session, policy), _draft_tasks(draft.corrected)
    diff = DraftDiff(policy=policy, version=policy.current_version)
    if (old_default := version_cadence(parsed, 0)) != draft.cadence:
        diff.cadence_changed = f"{cadence_name(old_default)} → {cadence_name(draft.cadence)}"
    for n, new in sorted(wanted.items()):
        old, label = running.get(n), str(new.get("label", ""))
        if old is None:
            diff.items.append(ItemChange(n, new["title"], "added", label=label))
            continue
        cadences = (version_cadence(parsed, n), effective(new, draft.cadence))
        if details := _item_details(old, new, cadences):
            diff.items.append(ItemChange(n, new["title"], "changed", tuple(details), label))
            if details[-1].startswith("时限"):
                diff.deadlines_moved.append(f"{old.label or n} {details[-1]}")
    diff.items += [
        ItemChange(n, i.title, "removed", label=i.label)
        for n, i in sorted(running.items())
        if n not in wanted
    ]
    _assignment_impact(session, policy, wanted, diff)
    return diff


def _assignment_impact(
    session: Session, policy: Policy, wanted: dict[int, dict[str, Any]], diff: DraftDiff
) -> None:
    pairs = {(n, _code(u)): u["role"] for n, item in wanted.items() for u in item["units"]}
    active = session.scalars(
        select(Assignment).where(
            Assignment.policy_id == policy.id, Assignment.removed_in_version.is_(None)
        )
    ).all()
    running = {(a.item_number, a.department.code): a for a in active}
    names = {a.department.code: a.department.name for a in active}
    new_names = {_code(u): u["name"] for item in wanted.values() for u in item["units"]}
    diff.assignments_started = sum(1 for p in pairs if p not in running)
    diff.assignments_withdrawn = sum(1 for p in running if p not in pairs)
    diff.assignments_role_changed = sum(
        1 for p, a in running.items() if p in pairs and pairs[p] != a.role
    )
    moved = {c.number for c in diff.items if any(d.startswith(REPLANS) for d in c.details)}
    diff.assignments_replanned = sum(1 for p in running if p in pairs and p[0] in moved)
    diff.departments_added = sorted(new_names[c] for c in set(new_names) - set(names))
    diff.departments_dropped = sorted(names[c] for c in set(names) - set(new_names))


def same_text_version(*, session: Session, draft: PolicyDraft) -> int | None:
    """Return the running version whose text the draft repeats (publishing it adds no version).

    Publishing goes through the import, which takes the same text twice as no change: the
    draft's corrections would not take effect, so the review screen says so beforehand.
    """
    key = draft.policy_key or policy_key_from_name(draft.source_name)
    policy = session.scalar(select(Policy).where(Policy.key == key))
    if policy is None or draft.status != "draft":
        return None
    running = session.scalar(
        select(PolicyVersion.content_sha256).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.current_version
        )
    )
    return policy.current_version if running == content_sha256(draft.source_text) else None
