"""Policy import into the read model, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from duban.db import make_session_factory
from duban.domain import assignment_workflow_id
from duban.errors import Conflict, Invalid
from duban.models import (
    Assignment,
    AuditEvent,
    Department,
    Policy,
    PolicyItem,
    PolicyVersion,
)
from duban.services.policy import content_sha256, import_policy, policy_key_from_name
from policies.model import Item, ParsedPolicy, Section, Unit

JILIN = (
    Path(__file__).resolve().parents[2] / "policies" / "jilin-2021-consolidation-revitalization.txt"
)
TABLES = (Policy, PolicyVersion, PolicyItem, Department, Assignment, AuditEvent)


def unit(name: str, role: str = "co", code: str | None = None, known: bool = True) -> Unit:
    """Build a unit as the parser would."""
    return Unit(name=name, as_written=name, role=role, known=known, code=code)  # type: ignore[arg-type]


def make_parsed(*items: Item) -> ParsedPolicy:
    """Build a small document: one context item and the given tasks."""
    context = Item(number=1, section=1, title="指导思想", body="以……为指导。")
    return ParsedPolicy(
        title="测试实施意见",
        issued=None,
        sections=(Section(1, "总体要求"), Section(2, "重点任务")),
        items=(context, *items),
    )


TASK_5 = Item(
    number=5,
    section=2,
    title="保持主要帮扶政策总体稳定",
    body="……",
    units=(unit("省扶贫办", "lead", "jl-fpb"), unit("省财政厅", code="jl-czt")),
)
TASK_6 = Item(
    number=6,
    section=2,
    title="健全防止返贫动态监测",
    body="……",
    units=(unit("省民政厅", "lead", "jl-mzt"), unit("某某新设中心", known=False)),
)


def counts(session: Session) -> dict[str, int]:
    """Return the row count of every table an import writes."""
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES
    }


def test_import_stores_items_departments_assignments_and_audit(session: Session) -> None:
    result = import_policy(
        session=session,
        parsed=make_parsed(TASK_5, TASK_6),
        source_text="v1",
        source_name="Test Doc.txt",
    )
    assert (result.policy_key, result.version, result.changed) == ("test-doc", 1, True)
    assert (result.items, result.tasks, result.assignments, result.departments) == (3, 2, 4, 4)
    assert result.unknown_units == ("某某新设中心",)
    items = session.scalars(select(PolicyItem).order_by(PolicyItem.number)).all()
    assert [(i.number, i.is_task) for i in items] == [(1, False), (5, True), (6, True)]
    lead = session.scalar(
        select(Assignment).where(Assignment.role == "lead", Assignment.item_number == 5)
    )
    assert lead is not None
    assert lead.department.code == "jl-fpb"
    assert lead.workflow_id == assignment_workflow_id("test-doc", 5, "jl-fpb")
    assert lead.state == "assigned"
    unknown = session.scalar(select(Department).where(Department.name == "某某新设中心"))
    assert unknown is not None and not unknown.known and unknown.code.startswith("x-")
    audit = session.scalars(select(AuditEvent)).one()
    assert (audit.kind, audit.data["assignments"]) == ("policy_imported", 4)


def test_same_text_twice_changes_nothing(session: Session) -> None:
    parsed = make_parsed(TASK_5)
    import_policy(session=session, parsed=parsed, source_text="正文\r\n", source_name="a.txt")
    before = counts(session)
    again = import_policy(
        session=session, parsed=parsed, source_text="\ufeff正文  \n\n", source_name="a.txt"
    )
    assert not again.changed
    assert (again.version, again.tasks, again.assignments) == (1, 1, 2)
    assert counts(session) == before


def test_changed_text_adds_version_and_marks_dropped_assignments(session: Session) -> None:
    import_policy(
        session=session, parsed=make_parsed(TASK_5, TASK_6), source_text="v1", source_name="p.txt"
    )
    task_5_lead_only = replace(TASK_5, units=(unit("省扶贫办", "lead", "jl-fpb"),))
    task_7 = Item(
        number=7,
        section=2,
        title="新增任务",
        body="……",
        units=(unit("省财政厅", "lead", "jl-czt"),),
    )
    result = import_policy(
        session=session,
        parsed=make_parsed(task_5_lead_only, task_7),
        source_text="v2",
        source_name="p.txt",
    )
    assert (result.version, result.changed, result.assignments) == (2, True, 2)
    assert (result.added_assignments, result.removed_assignments) == (1, 3)
    versions = session.scalars(select(PolicyVersion.version).order_by(PolicyVersion.version)).all()
    assert versions == [1, 2]
    assert session.scalar(select(func.count()).select_from(PolicyItem)) == 6
    rows = session.scalars(select(Assignment)).all()
    assert len(rows) == 5
    removed = sorted((a.item_number, a.department.code) for a in rows if a.removed_in_version == 2)
    assert removed[0] == (5, "jl-czt")
    assert session.scalar(select(Policy.current_version)) == 2


def test_relisted_assignment_is_unmarked(session: Session) -> None:
    import_policy(
        session=session, parsed=make_parsed(TASK_5), source_text="v1", source_name="p.txt"
    )
    import_policy(
        session=session, parsed=make_parsed(TASK_6), source_text="v2", source_name="p.txt"
    )
    result = import_policy(
        session=session, parsed=make_parsed(TASK_5), source_text="v3", source_name="p.txt"
    )
    active = session.scalars(
        select(Assignment).where(Assignment.removed_in_version.is_(None))
    ).all()
    assert sorted(a.item_number for a in active) == [5, 5]
    assert result.version == 3


def test_reimporting_an_older_version_is_refused(session: Session) -> None:
    import_policy(
        session=session, parsed=make_parsed(TASK_5), source_text="v1", source_name="p.txt"
    )
    import_policy(
        session=session, parsed=make_parsed(TASK_6), source_text="v2", source_name="p.txt"
    )
    with pytest.raises(Conflict, match="第 1 版"):
        import_policy(
            session=session, parsed=make_parsed(TASK_5), source_text="v1", source_name="p.txt"
        )


def test_explicit_key_is_used_and_validated(session: Session) -> None:
    result = import_policy(
        session=session,
        parsed=make_parsed(TASK_5),
        source_text="v1",
        source_name="x.txt",
        key="jl-2021",
    )
    assert session.scalar(select(Policy.key)) == "jl-2021" == result.policy_key
    with pytest.raises(Invalid):
        import_policy(
            session=session,
            parsed=make_parsed(TASK_5),
            source_text="v1",
            source_name="x",
            key="Bad Key",
        )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("jilin-2021-consolidation-revitalization.txt", "jilin-2021-consolidation-revitalization"),
        ("/tmp/My Policy (v2).TXT", "my-policy-v2"),
        ("Café_Plan.txt", "cafe-plan"),
    ],
)
def test_key_slug_from_file_name(name: str, key: str) -> None:
    assert policy_key_from_name(name) == key


def test_key_slug_of_a_chinese_name_is_stable_ascii() -> None:
    key = policy_key_from_name("吉林实施意见.txt")
    assert key == policy_key_from_name("/elsewhere/吉林实施意见.txt")
    assert key.startswith("policy-") and key.isascii()


def test_content_hash_ignores_line_ends_and_bom() -> None:
    assert content_sha256("\ufeff甲\r\n乙 \r\n") == content_sha256("甲\n乙\n")
    assert content_sha256("甲\n乙\n") != content_sha256("甲\n丙\n")


def test_failure_midway_leaves_nothing(engine) -> None:
    factory = make_session_factory(engine)
    clash = assignment_workflow_id("victim", 6, "jl-mzt")
    with factory.begin() as s:
        other = Policy(key="other", title="其他")
        dept = Department(code="d-other", name="其他单位")
        s.add_all([other, dept])
        s.flush()
        s.add(
            Assignment(
                policy_id=other.id,
                item_number=1,
                department_id=dept.id,
                role="lead",
                workflow_id=clash,
            )
        )
    with factory() as s:
        baseline = counts(s)
    with pytest.raises(IntegrityError), factory.begin() as s:
        import_policy(
            session=s,
            parsed=make_parsed(TASK_5, TASK_6),
            source_text="v1",
            source_name="victim.txt",
        )
    with factory() as s:
        assert counts(s) == baseline
        assert s.scalar(select(Policy).where(Policy.key == "victim")) is None


def jilin(script: str = "traditional") -> ParsedPolicy:
    """Parse the bundled Jilin document, as published or folded to Simplified."""
    from policies.parse import parse_text
    from policies.script import fold

    text = JILIN.read_text(encoding="utf-8")
    return parse_text(fold(text) if script == "simplified" else text)


def test_jilin_import_counts(session: Session) -> None:
    result = import_policy(
        session=session,
        parsed=jilin(),
        source_text=JILIN.read_text(encoding="utf-8"),
        source_name=JILIN.name,
    )
    assert (result.tasks, result.assignments, result.departments) == (25, 132, 35)
    assert result.items == 29
    assert session.scalar(select(func.count()).select_from(Assignment)) == 132
    assert session.scalar(select(func.count(func.distinct(Assignment.department_id)))) == 35
    leads = session.scalar(
        select(func.count()).select_from(Assignment).where(Assignment.role == "lead")
    )
    assert leads == 25


def test_jilin_twice_changes_nothing(session: Session) -> None:
    text = JILIN.read_text(encoding="utf-8")
    import_policy(session=session, parsed=jilin(), source_text=text, source_name=JILIN.name)
    before = counts(session)
    again = import_policy(session=session, parsed=jilin(), source_text=text, source_name=JILIN.name)
    assert (again.changed, again.version, again.assignments, again.departments) == (
        False,
        1,
        132,
        35,
    )
    assert counts(session) == before
    assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 1


def test_simplified_and_traditional_copies_map_to_the_same_departments(session: Session) -> None:
    def pairs(key: str) -> set[tuple[int, str, str]]:
        rows = session.scalars(select(Assignment).join(Policy).where(Policy.key == key)).all()
        return {(a.item_number, a.department.code, a.role) for a in rows}

    text = JILIN.read_text(encoding="utf-8")
    import_policy(
        session=session, parsed=jilin(), source_text=text, source_name="t.txt", key="jl-trad"
    )
    import_policy(
        session=session,
        parsed=jilin("simplified"),
        source_text="简体",
        source_name="s.txt",
        key="jl-simp",
    )
    assert pairs("jl-trad") == pairs("jl-simp")
    assert len(pairs("jl-trad")) == 132
    assert session.scalar(select(func.count()).select_from(Department)) == 35


def test_changed_jilin_document_becomes_version_2(session: Session) -> None:
    from policies.parse import parse_text

    text = JILIN.read_text(encoding="utf-8")
    import_policy(session=session, parsed=jilin(), source_text=text, source_name=JILIN.name)
    changed = text.replace("結合吉林實際", "結合吉林省實際", 1)
    assert changed != text
    result = import_policy(
        session=session, parsed=parse_text(changed), source_text=changed, source_name=JILIN.name
    )
    assert (result.changed, result.version, result.assignments) == (True, 2, 132)
    assert (result.added_assignments, result.removed_assignments) == (0, 0)
    per_version = session.execute(
        select(PolicyVersion.version, func.count(PolicyItem.id))
        .join(PolicyItem)
        .group_by(PolicyVersion.version)
    ).all()
    assert sorted(per_version) == [(1, 29), (2, 29)]
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_import_path_stores_the_registry_and_the_document_in_one_go(engine) -> None:
    from cli.importer import import_path, summary
    from policies.orgtree import load_tree
    from policies.units import load_registry

    factory = make_session_factory(engine)
    result = import_path(factory, JILIN)
    assert result.policy_key == "jilin-2021-consolidation-revitalization"
    assert "任务 25 项" in summary(result)
    with factory() as s:
        governments = [n for n in load_tree() if n.kind == "government"]  # the org tree's
        assert s.scalar(select(func.count()).select_from(Department)) == len(
            load_registry().departments
        ) + len(governments)
        assert s.scalar(select(func.count()).select_from(Assignment)) == 132
    assert "未变化" in summary(import_path(factory, JILIN))
