"""Policy import into the read model: versions, items, departments, assignments and the audit row."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from duban.domain import AssignmentRole, AssignmentState, assignment_workflow_id
from duban.errors import Conflict, Invalid
from duban.models import Assignment, AuditEvent, Department, Policy, PolicyItem, PolicyVersion
from duban.services.department import ensure_department
from duban.services.orgtree import fan_out_targets
from duban.services.target import add_task_targets
from policies.model import Item, ParsedPolicy, Unit
from policies.units import unknown_code

KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_KEY = 64
ItemCallback = Callable[[Item], None]
# Execution option of a query that must see assignments still pending their start.
SEE_PENDING = "include_pending_starts"


@dataclass(frozen=True)
class ImportResult:
    """What an import did, for the CLI summary and the workflow starter."""

    policy_id: int
    policy_key: str
    version: int
    changed: bool
    items: int
    tasks: int
    assignments: int
    departments: int
    unknown_units: tuple[str, ...] = ()
    added_assignments: int = 0
    removed_assignments: int = 0


def normalize_text(text: str) -> str:
    """Return the text as compared between imports: NFC, LF line ends, no trailing blanks."""
    text = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def content_sha256(text: str) -> str:
    """Return the SHA-256 of the normalized text."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def policy_key_from_name(source_name: str) -> str:
    """Return a stable ASCII slug (`[a-z0-9-]`) of a file name's stem."""
    stem = source_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem).strip("-")[:MAX_KEY].strip("-")
    if not slug:
        # A name with no ASCII letters (e.g. 吉林意见.txt) still needs a stable key.
        slug = "policy-" + hashlib.sha256(stem.encode("utf-8")).hexdigest()[:10]
    return slug


def _checked_key(key: str | None, source_name: str) -> str:
    if key is None:
        return policy_key_from_name(source_name)
    if not KEY_RE.match(key):
        raise Invalid(
            f"政策标识 {key!r} 无效：只能使用小写字母、数字和连字符，最长 {MAX_KEY} 个字符"
        )
    return key


def import_policy(
    *,
    session: Session,
    parsed: ParsedPolicy,
    source_text: str,
    source_name: str,
    key: str | None = None,
    on_item: ItemCallback | None = None,
) -> ImportResult:
    """Store a parsed document as a policy, or as version N+1 of the policy with the same key.

    The same normalized text twice changes nothing (`changed=False`). A changed text adds a
    version with its own items; earlier versions and their items stay. Assignments are per
    policy (task number x department): pairs new in this version are added in state
    "assigned"; pairs still listed get the role and wording of this version; pairs no longer
    listed are kept with `removed_in_version` set, and a pair listed again is un-marked.
    Nothing is deleted. Does not commit: the caller owns the transaction.
    """
    policy_key = _checked_key(key, source_name)
    if not parsed.tasks:
        raise Invalid(
            f"文件中有 {len(parsed.items)} 个编号条目，但没有一条写明责任单位，"
            "无法形成督办任务，未导入 / no item names a responsible unit: nothing imported"
        )
    sha = content_sha256(source_text)
    policy = session.scalar(select(Policy).where(Policy.key == policy_key))
    if policy is not None:
        unchanged = _unchanged_result(session, policy, sha)
        if unchanged is not None:
            return unchanged
    policy, version = _add_version(
        session, policy, policy_key, parsed, source_text, source_name, sha
    )
    departments = _departments(session, parsed)
    _add_items(session, version, parsed, departments, on_item)
    added, removed, active = _sync_assignments(
        session, policy, version.version, parsed, departments
    )
    result = ImportResult(
        policy_id=policy.id,
        policy_key=policy_key,
        version=version.version,
        changed=True,
        items=len(parsed.items),
        tasks=len(parsed.tasks),
        assignments=len(active),
        departments=len({department_id for _, department_id in active}),
        unknown_units=parsed.unknown_units,
        added_assignments=added,
        removed_assignments=removed,
    )
    _audit(session, result, sha, source_name)
    return result


def _unchanged_result(session: Session, policy: Policy, sha: str) -> ImportResult | None:
    """Return the no-op result when this text is the current version; refuse an older one."""
    same = session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.content_sha256 == sha
        )
    )
    if same is None:
        return None
    if same.version != policy.current_version:
        raise Conflict(
            f"该文件与政策 {policy.key} 的第 {same.version} 版相同，"
            f"而当前为第 {policy.current_version} 版；如需恢复旧版，请修改文件后再导入"
        )
    active = session.execute(
        select(Assignment.item_number, Assignment.department_id).where(
            Assignment.policy_id == policy.id, Assignment.removed_in_version.is_(None)
        )
    ).all()
    items = session.scalars(select(PolicyItem).where(PolicyItem.version_id == same.id)).all()
    unknown = tuple(same.parsed.get("unknown_units", [])) if same.parsed else ()
    return ImportResult(
        policy_id=policy.id,
        policy_key=policy.key,
        version=same.version,
        changed=False,
        items=len(items),
        tasks=sum(1 for i in items if i.is_task),
        assignments=len(active),
        departments=len({d for _, d in active}),
        unknown_units=unknown,
    )


def _add_version(
    session: Session,
    policy: Policy | None,
    policy_key: str,
    parsed: ParsedPolicy,
    source_text: str,
    source_name: str,
    sha: str,
) -> tuple[Policy, PolicyVersion]:
    """Create the policy if new, append the next version and make it current."""
    if policy is None:
        policy = Policy(key=policy_key, title="", current_version=0)
        session.add(policy)
    policy.title = parsed.title[:500]
    policy.issued_date = parsed.issued
    policy.current_version += 1
    session.flush()
    version = PolicyVersion(
        policy_id=policy.id,
        version=policy.current_version,
        content_sha256=sha,
        source_name=source_name[-255:],
        source_text=source_text,
        parsed=parsed.to_json(),
    )
    session.add(version)
    session.flush()
    return policy, version


def _unit_code(unit: Unit) -> str:
    return unit.code or unknown_code(unit.name)


def _departments(session: Session, parsed: ParsedPolicy) -> dict[str, Department]:
    """Return the department of every unit code of the document, creating unknown ones."""
    found: dict[str, Department] = {}
    for item in parsed.tasks:
        for unit in item.units:
            code = _unit_code(unit)
            if code not in found:
                found[code] = ensure_department(
                    session=session, code=code, name=unit.name[:200], known=unit.known
                )
    return found


def _unit_json(unit: Unit, departments: dict[str, Department]) -> dict[str, Any]:
    return {**unit.to_json(), "code": departments[_unit_code(unit)].code}


def _add_items(
    session: Session,
    version: PolicyVersion,
    parsed: ParsedPolicy,
    departments: dict[str, Department],
    on_item: ItemCallback | None,
) -> None:
    """Store every item of the version (tasks and context items alike)."""
    sections = {s.number: s.title for s in parsed.sections}
    rows: list[tuple[PolicyItem, Item]] = []
    for item in parsed.items:
        row = PolicyItem(
            version_id=version.id,
            number=item.key,
            label=item.label[:32],
            section_number=item.section,
            section_title=sections.get(item.section, "")[:500],
            title=item.title[:1000],
            body=item.body,
            is_task=item.is_task,
            open_ended=item.open_ended,
            units=[_unit_json(u, departments) for u in item.units],
            deadlines=[d.to_json() for d in item.deadlines],
        )
        session.add(row)
        rows.append((row, item))
        if on_item is not None:
            on_item(item)
    session.flush()
    for row, item in rows:
        if item.is_task:
            add_task_targets(session=session, item_id=row.id, targets=item.targets)
    session.flush()


def _wanted_pairs(
    session: Session, parsed: ParsedPolicy, departments: dict[str, Department]
) -> dict[tuple[int, int], tuple[Unit, Department]]:
    """Return (item, department) -> (unit, department); a unit listed twice keeps its first role."""
    wanted: dict[tuple[int, int], tuple[Unit, Department]] = {}
    for item in parsed.tasks:
        for unit in item.units:
            # A collective (各市（州）人民政府) fans out to each government of its level in the tree.
            targets = fan_out_targets(session=session, name=unit.name) if unit.collective else []
            for department in targets or [departments[_unit_code(unit)]]:
                wanted.setdefault((item.key, department.id), (unit, department))
    return wanted


def _sync_assignments(
    session: Session,
    policy: Policy,
    version: int,
    parsed: ParsedPolicy,
    departments: dict[str, Department],
) -> tuple[int, int, set[tuple[int, int]]]:
    """Add, update and mark assignments; return (added, newly removed, active pairs)."""
    wanted = _wanted_pairs(session, parsed, departments)
    existing = {
        (a.item_number, a.department_id): a
        for a in session.scalars(
            # Sub-assignments (转办/分解) belong to their parent, not to the document's lists.
            select(Assignment).where(
                Assignment.policy_id == policy.id, Assignment.parent_id.is_(None)
            )
        )
    }
    added = removed = 0
    for pair, (unit, department) in wanted.items():
        row = existing.get(pair)
        if row is None:
            session.add(_new_assignment(policy, pair[0], unit, department))
            added += 1
        else:
            row.role, row.as_written = _role(unit), unit.as_written[:200]
            row.removed_in_version = None
    for pair, row in existing.items():
        if pair not in wanted and row.removed_in_version is None:
            row.removed_in_version = version
            removed += 1
    session.flush()
    return added, removed, set(wanted)


def _role(unit: Unit) -> str:
    return str(AssignmentRole.LEAD if unit.role == "lead" else AssignmentRole.CO)


def _new_assignment(
    policy: Policy, item_number: int, unit: Unit, department: Department
) -> Assignment:
    return Assignment(
        policy_id=policy.id,
        item_number=item_number,
        department_id=department.id,
        role=_role(unit),
        as_written=unit.as_written[:200],
        workflow_id=assignment_workflow_id(policy.key, item_number, department.code),
        state=str(AssignmentState.ASSIGNED),
        pending_start=True,
    )


def mark_started(*, session: Session, policy_key: str, item_numbers: list[int]) -> int:
    """Show the assignments of these tasks: their workflow start is confirmed; return how many."""
    if not item_numbers:
        return 0
    policy_id = select(Policy.id).where(Policy.key == policy_key).scalar_subquery()
    done = session.execute(
        update(Assignment)
        .where(
            Assignment.policy_id == policy_id,
            Assignment.item_number.in_(item_numbers),
            Assignment.pending_start.is_(True),
        )
        .values(pending_start=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def pending_policies(*, session: Session) -> list[str]:
    """Return the keys of policies with assignments whose workflow start is not confirmed."""
    stmt = (
        select(Policy.key)
        .join(Assignment, Assignment.policy_id == Policy.id)
        .where(Assignment.pending_start.is_(True), Assignment.removed_in_version.is_(None))
        .distinct()
        .order_by(Policy.key)
    )
    return list(session.scalars(stmt))


def hide_pending_starts(factory: sessionmaker[Session]) -> None:
    """Make every ORM query of `factory`'s sessions skip assignments still pending their start.

    The web's one home for the rule "nothing of an import is visible until its workflows
    run": inbox, board, reviews, scores and the detail page all see started rows only.
    """

    @event.listens_for(factory, "do_orm_execute")
    def _only_started(state: ORMExecuteState) -> None:
        if state.execution_options.get(SEE_PENDING):
            return  # the starter, which is what makes them visible
        if state.is_select and not state.is_column_load and not state.is_relationship_load:
            state.statement = state.statement.options(
                with_loader_criteria(
                    Assignment, Assignment.pending_start.is_(False), include_aliases=True
                )
            )


def _audit(session: Session, result: ImportResult, sha: str, source_name: str) -> None:
    """Record the import in the audit trail; the key makes a repeat insert nothing."""
    data = {**asdict(result), "unknown_units": list(result.unknown_units)}
    data.update(sha256=sha, source_name=source_name)
    session.add(
        AuditEvent(
            key=f"policy_imported:{result.policy_key}:{result.version}",
            kind="policy_imported",
            actor_label="cli",
            policy_id=result.policy_id,
            data=data,
        )
    )
    session.flush()
