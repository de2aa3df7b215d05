"""Drafts on SQLite and PostgreSQL: upload checks, corrections with a lock, doubts, publish once, amend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from duban.errors import Conflict, Invalid, TooLarge
from duban.models import Assignment, Notification, Policy, PolicyDraftChange, PolicyItem
from duban.script import to_script
from duban.services import notification
from duban.services.department import sync_departments
from duban.services.draft import (
    Actor,
    announce,
    create_draft,
    document_text,
    get_draft,
    publish_draft,
)
from duban.services.draft_diff import draft_diff
from duban.services.draft_edit import DraftEdit, apply_edits
from duban.services.draft_json import open_doubts
from duban.services.user import create_user
from policies.units import load_registry

SAMPLE = (Path(__file__).parents[1] / "web" / "data" / "renwu-fengong.txt").read_text("utf-8")
CLERK = Actor(user_id=None, label="王科员")
ROAD = "d{}-i2"


def _draft(session, text=SAMPLE, **kw):
    sync_departments(session=session, registry=load_registry())
    return create_draft(session=session, text=text, source_name="fengong.txt", actor=CLERK, **kw)


def _edit(session, draft, *edits, lock=None):
    return apply_edits(
        session=session,
        draft_id=draft.id,
        lock_version=draft.lock_version if lock is None else lock,
        edits=list(edits),
        actor=CLERK,
    )


def test_a_draft_keeps_the_parse_and_starts_nothing(session):
    draft = _draft(session)
    assert draft.status == "draft" and draft.lock_version == 1
    assert [i["title"] for i in draft.corrected["items"]][1] == "加快农村公路建设"
    assert [d.code for d in open_doubts(draft.corrected)] == ["unknown_unit"]
    assert session.scalar(select(func.count(Policy.id))) == 0
    assert draft.changes[0].action == "created" and draft.changes[0].actor_label == "王科员"


@pytest.mark.parametrize("text", ["", "   \n", "这是一段没有编号条目的文字。\n只有两行。"])
def test_empty_or_itemless_text_is_refused(session, text):
    with pytest.raises(Invalid):
        _draft(session, text=text)


def test_document_text_checks_type_size_and_content():
    assert "加快农村公路建设" in document_text(SAMPLE.encode("gb18030"), filename="a.txt")
    with pytest.raises(Invalid, match="不支持的文件类型"):
        document_text(b"MZ\x90\x00", filename="virus.exe")
    with pytest.raises(TooLarge):
        document_text(b"x" * 2000, filename="a.txt", max_bytes=1000)
    with pytest.raises(Invalid, match="文件为空"):
        document_text(b"   ", filename="a.txt")
    textless_pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF\n"
    with pytest.raises(Invalid):
        document_text(textless_pdf, filename="scan.pdf")


def test_corrections_resolve_doubts_and_are_logged(session):
    draft = _draft(session)
    road = ROAD.format(draft.id)
    _edit(
        session,
        draft,
        DraftEdit("map_unit", road, unit=2, value="jl-zjt"),
        DraftEdit("deadline", road, index=0, value="2026-09-30", text="2026年9月底前"),
    )
    item = draft.corrected["items"][1]
    assert item["units"][2]["name"] == "省住建厅" and item["units"][2]["known"] is True
    assert item["deadlines"] == [{"text": "2026年9月底前", "date": "2026-09-30"}]
    assert open_doubts(draft.corrected) == []
    assert draft.lock_version == 2
    actions = session.scalars(
        select(PolicyDraftChange.action).where(PolicyDraftChange.draft_id == draft.id)
    ).all()
    assert actions == ["created", "map_unit", "deadline"]


def test_a_stale_lock_is_refused_and_nothing_is_lost(session):
    draft = _draft(session)
    road = ROAD.format(draft.id)
    _edit(session, draft, DraftEdit("title", road, value="第一位科员的标题"))
    with pytest.raises(Conflict, match="当前为第 2 版"):
        _edit(session, draft, DraftEdit("title", road, value="第二位科员的标题"), lock=1)
    assert get_draft(session=session, draft_id=draft.id).corrected["items"][1]["title"] == (
        "第一位科员的标题"
    )


def test_another_drafts_item_is_refused_and_edits_apply_all_or_none(session):
    first, second = _draft(session), _draft(session)
    with pytest.raises(Invalid, match="不属于本草稿"):
        _edit(
            session,
            second,
            DraftEdit("title", ROAD.format(second.id), value="改了"),
            DraftEdit("title", ROAD.format(first.id), value="跨草稿"),
        )
    assert get_draft(session=session, draft_id=second.id).corrected["items"][1]["title"] == (
        "加快农村公路建设"
    )
    session.refresh(second)
    assert second.lock_version == 1  # the refused edit took no lock version


def test_exclude_merge_split_and_units(session):
    draft = _draft(session)
    d = draft.id
    _edit(session, draft, DraftEdit("split", f"d{d}-i3", value="实行动态监测"))
    titles = [i["title"] for i in draft.corrected["items"]]
    assert titles[3] == "实行动态监测" and titles[2] == "健全防止返贫监测帮扶机制"
    _edit(session, draft, DraftEdit("merge", f"d{d}-i4"))
    assert len(draft.corrected["items"]) == 3
    _edit(session, draft, DraftEdit("exclude", f"d{d}-i3", value="1"))
    _edit(session, draft, DraftEdit("add_unit", f"d{d}-i1", value="省民政厅", text="lead"))
    _edit(session, draft, DraftEdit("remove_unit", f"d{d}-i2", unit=0))
    items = draft.corrected["items"]
    assert items[0]["units"][0]["name"] == "省民政厅" and items[0]["units"][0]["role"] == "lead"
    assert items[1]["units"][0]["name"] == "省财政厅" and items[1]["units"][0]["role"] == "lead"
    assert items[2]["excluded"] is True


def test_publish_once_with_the_corrections(session):
    draft = _draft(session)
    staff = create_user(
        session=session,
        username="jtt1",
        password="pw-123456",
        role="staff",
        department_code="jl-jtt",
    )
    with pytest.raises(Conflict, match="疑点"):
        publish_draft(session=session, draft_id=draft.id, lock_version=1, actor=CLERK)
    road = ROAD.format(draft.id)
    _edit(
        session,
        draft,
        DraftEdit("remove_unit", road, unit=2),
        DraftEdit("deadline", road, index=0, value="2026-10-31"),
        DraftEdit("cadence", value="monthly"),
    )
    done = publish_draft(session=session, draft_id=draft.id, lock_version=2, actor=CLERK)
    assert announce(session=session, published=done) == 1  # the one jtt user, once
    assert (done.version, draft.status) == (1, "published")
    item = session.scalars(
        select(PolicyItem).where(PolicyItem.number == 2, PolicyItem.version_id.is_not(None))
    ).one()
    assert [u["name"] for u in item.units] == ["省交通厅", "省财政厅"]
    assert item.deadlines[0]["date"] == "2026-10-31"
    assert item.version.parsed["cadence"] == "monthly"
    assert session.scalar(select(func.count(Assignment.id))) == 3
    notes = session.scalars(select(Notification).where(Notification.user_id == staff.id)).all()
    assert [n.kind for n in notes] == ["assigned"]
    # Stored as a code and parameters, no text: rendered for each reader (duban.messages).
    [note] = notes
    assert (note.code, note.title, note.body) == ("new_assignment", "", "")
    assert note.params == {"item": 2, "role": "lead", "policy": done.policy_id}
    [shown] = notification.list_for_user(session=session, user_id=staff.id)
    [hant] = notification.list_for_user(session=session, user_id=staff.id, locale="zh-TW")
    assert shown.title == "新交办任务（牵头）：任务（二）加快农村公路建设"
    assert shown.body == session.get_one(Policy, done.policy_id).title
    assert hant.title == "新交辦任務（牽頭）：任務（二）加快農村公路建設"
    assert hant.body == to_script(shown.body, "zh-TW") and hant.body != shown.body
    staff.email, staff.locale = "jtt1@example.gov.cn", "zh-TW"
    [digest] = notification.pending_digests(session=session)
    assert digest.lines == (f"· {hant.title}\n  {hant.body}",)
    with pytest.raises(Conflict, match="不能重复交办"):
        publish_draft(session=session, draft_id=draft.id, lock_version=None, actor=CLERK)
    with pytest.raises(Conflict, match="已交办"):
        _edit(session, draft, DraftEdit("title", road, value="交办后再改"))
    assert session.scalar(select(func.count(Assignment.id))) == 3


def test_an_amendment_shows_what_it_does_to_running_assignments(session):
    draft = _draft(session)
    _edit(session, draft, DraftEdit("remove_unit", ROAD.format(draft.id), unit=2))
    published = publish_draft(session=session, draft_id=draft.id, lock_version=None, actor=CLERK)
    changed = SAMPLE.replace("2026年底前完成", "2026年6月底前完成").replace(
        "（省扶贫办负责）", "（省民政厅负责）"
    )
    amend = _draft(session, text=changed, base_policy_id=published.policy_id)
    _edit(session, amend, DraftEdit("remove_unit", ROAD.format(amend.id), unit=2))
    diff = draft_diff(session=session, draft=amend)
    assert diff is not None and diff.version == 1
    assert diff.departments_added == ["省民政厅"] and diff.departments_dropped == ["省扶贫办"]
    assert (diff.assignments_started, diff.assignments_withdrawn) == (1, 1)
    assert diff.assignments_replanned == 2 and len(diff.deadlines_moved) == 1
    again = publish_draft(session=session, draft_id=amend.id, lock_version=None, actor=CLERK)
    assert (again.policy_id, again.version) == (published.policy_id, 2)


def test_mapping_a_unit_onto_one_already_listed_merges_them(session):
    draft = _draft(session)
    _edit(session, draft, DraftEdit("map_unit", ROAD.format(draft.id), unit=2, value="jl-czt"))
    units = draft.corrected["items"][1]["units"]
    assert [u["name"] for u in units] == ["省交通厅", "省财政厅"]
    assert open_doubts(draft.corrected) == []


def test_accept_all_of_one_kind(session):
    text = Path(__file__).parents[2] / "policies" / "genre" / "guoban_2018_117_incentives.txt"
    draft = _draft(session, text=text.read_text("utf-8"))
    assert {d.code for d in open_doubts(draft.corrected)} == {"role_guessed"}
    _edit(session, draft, DraftEdit("accept_all", value="role_guessed"))
    assert open_doubts(draft.corrected) == []
    with pytest.raises(Invalid, match="没有这一类"):
        _edit(session, draft, DraftEdit("accept_all", value="role_guessed"))


def test_two_clerks_saving_at_the_same_moment_cannot_both_win(engine):
    import threading

    from duban.db import make_session_factory

    factory = make_session_factory(engine)
    with factory.begin() as s:
        draft_id = _draft(s).id
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def clerk(title: str) -> None:
        try:
            with factory.begin() as s:
                start.wait(timeout=10)
                edit = DraftEdit("title", ROAD.format(draft_id), value=title)
                apply_edits(
                    session=s,
                    draft_id=draft_id,
                    lock_version=1,
                    edits=[edit],
                    actor=Actor(None, title),
                )
            outcomes.append(title)
        except Conflict:
            outcomes.append("409")

    threads = [threading.Thread(target=clerk, args=(t,)) for t in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes)[0] == "409" and len(outcomes) == 2
    winner = next(o for o in outcomes if o != "409")
    with factory() as s:
        saved = get_draft(session=s, draft_id=draft_id)
        assert saved.corrected["items"][1]["title"] == winner and saved.lock_version == 2


def test_a_unit_is_mapped_by_code_or_by_name_in_either_script(session):
    draft = _draft(session)
    road = ROAD.format(draft.id)
    _edit(session, draft, DraftEdit("map_unit", road, unit=2, value="省住建廳"))
    assert draft.corrected["items"][1]["units"][2]["code"] == "jl-zjt"
    with pytest.raises(Invalid, match="没有名称或代码"):
        _edit(session, draft, DraftEdit("map_unit", road, unit=2, value="不存在的单位"))


def test_targets_go_through_the_draft_and_into_the_published_version(session):
    # The parse's targets (issue 15) are in the draft's JSON and, after publishing, in the
    # version's stored parsed JSON, unchanged by the trip through the draft.
    text = SAMPLE.replace("2026年底前完成。", "2026年底前每县新建改造农村公路100公里。")
    draft = _draft(session, text=text)
    road = ROAD.format(draft.id)
    _edit(session, draft, DraftEdit("remove_unit", road, unit=2))
    done = publish_draft(session=session, draft_id=draft.id, lock_version=2, actor=CLERK)
    item = session.scalars(
        select(PolicyItem).where(PolicyItem.number == 2, PolicyItem.version_id.is_not(None))
    ).one()
    (target,) = item.version.parsed["items"][1]["targets"]
    assert done.version == 1
    assert {k: target[k] for k in ("value", "unit", "direction", "scope", "deadline")} == {
        "value": 100,
        "unit": "公里",
        "direction": "reach",
        "scope": "每县",
        "deadline": "2026-12-31",
    }
    start, end = target["span"]
    assert text[start:end] == target["text"] == "新建改造农村公路100公里"
