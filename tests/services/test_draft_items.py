"""Drafts on SQLite and PostgreSQL: a cadence per task, split parts numbered in place, department search."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from actions.starter import Offsets, build_task_inputs
from duban.errors import Invalid
from duban.models import Policy, PolicyItem
from duban.services.department import sync_departments
from duban.services.department_search import search_departments
from duban.services.draft import Actor, create_draft, publish_draft
from duban.services.draft_diff import draft_diff, same_text_version
from duban.services.draft_edit import DraftEdit, apply_edits
from duban.services.draft_split import chinese_number, part_label
from policies.units import load_registry

SAMPLE = (Path(__file__).parents[1] / "web" / "data" / "renwu-fengong.txt").read_text("utf-8")
CLERK = Actor(user_id=None, label="王科员")
# Item 3 in a form with one more deadline, so that it can be split into two tasks.
LONGER = SAMPLE.replace(
    "对脱贫不稳定户实行动态监测。（省扶贫办负责）",
    "对脱贫不稳定户实行动态监测。建立帮扶台账，2026年6月底前完成。（省扶贫办负责）",
)


def _draft(session, text=SAMPLE, **kw):
    sync_departments(session=session, registry=load_registry())
    return create_draft(session=session, text=text, source_name="fengong.txt", actor=CLERK, **kw)


def _edit(session, draft, *edits):
    return apply_edits(
        session=session,
        draft_id=draft.id,
        lock_version=draft.lock_version,
        edits=list(edits),
        actor=CLERK,
    )


def _publish(session, draft):
    return publish_draft(session=session, draft_id=draft.id, lock_version=None, actor=CLERK)


def _inputs(session, key):
    return {t.item_number: t for t in build_task_inputs(session, key, Offsets([], []))}


def test_each_task_reports_at_its_own_cadence_or_the_documents(session):
    draft = _draft(session)
    road, poor = f"d{draft.id}-i2", f"d{draft.id}-i3"
    _edit(
        session,
        draft,
        DraftEdit("remove_unit", road, unit=2),
        DraftEdit("cadence", value="half-yearly"),
        DraftEdit("cadence", road, value="monthly"),
        DraftEdit("cadence", poor, value="one-off"),
    )
    _edit(session, draft, DraftEdit("cadence", poor, value=""))  # back to the default
    assert draft.corrected["items"][1]["cadence"] == "monthly"
    assert "cadence" not in draft.corrected["items"][2]
    assert [c.summary for c in draft.changes][-1].endswith("报送周期改为随文件默认")
    published = _publish(session, draft)
    policy = session.get_one(Policy, published.policy_id)
    version = policy.versions[-1]
    assert version.parsed["cadence"] == "half-yearly"
    assert version.parsed["item_cadences"] == {"2": "monthly"}
    tasks = _inputs(session, policy.key)
    road_periods = tasks[2].assignments[0].periods
    poor_periods = tasks[3].assignments[0].periods
    # A month apart against half a year apart: each task got its own cadence.
    assert (road_periods[1].due_at - road_periods[0].due_at).days <= 31
    assert (poor_periods[1].due_at - poor_periods[0].due_at).days >= 181


@pytest.mark.parametrize(
    ("item", "value", "words"),
    [("i1", "monthly", "不是任务"), ("i2", "weekly", "报送周期只能是"), ("", "", "报送周期只能是")],
)
def test_a_cadence_for_a_non_task_or_of_no_known_kind_is_refused(session, item, value, words):
    draft = _draft(session)
    ref = f"d{draft.id}-{item}" if item else ""
    with pytest.raises(Invalid, match=words):
        _edit(session, draft, DraftEdit("cadence", ref, value=value))
    assert draft.lock_version == 1


def test_an_amendment_shows_a_changed_cadence_and_replans_its_assignments(session):
    draft = _draft(session)
    _edit(session, draft, DraftEdit("remove_unit", f"d{draft.id}-i2", unit=2))
    published = _publish(session, draft)
    amend = _draft(session, text=LONGER, base_policy_id=published.policy_id)
    _edit(
        session,
        amend,
        DraftEdit("remove_unit", f"d{amend.id}-i2", unit=2),
        DraftEdit("cadence", f"d{amend.id}-i2", value="monthly"),
    )
    diff = draft_diff(session=session, draft=amend)
    assert diff is not None and diff.cadence_changed == ""
    changed = {c.number: c.details for c in diff.items if c.kind == "changed"}
    assert changed[2] == ("报送周期 按季度 → 按月",)
    assert diff.assignments_replanned >= 2  # both departments of item 2
    _edit(session, amend, DraftEdit("cadence", value="monthly"))
    again = draft_diff(session=session, draft=amend)
    assert again is not None and again.cadence_changed == "按季度 → 按月"


def test_a_split_part_stands_after_its_source_and_is_numbered_there(session):
    draft = _draft(session, text=LONGER)
    poor = f"d{draft.id}-i3"
    _edit(session, draft, DraftEdit("split", poor, value="建立帮扶台账"))
    _edit(session, draft, DraftEdit("split", poor, value="实行动态监测"))
    items = draft.corrected["items"]
    assert [i["label"] for i in items] == ["（一）", "（二）", "（三）", "（三之一）", "（三之二）"]
    assert [i["title"][:6] for i in items[2:]] == ["健全防止返贫", "实行动态监测", "建立帮扶台账"]
    keys = [i["ordinal"] for i in items]
    assert len(set(keys)) == 5 and keys[:3] == [1, 2, 3]
    assert "拆分出新条目（三之一）" in draft.changes[-1].summary
    # The last part becomes a task of its own and is published in its place.
    last = f"d{draft.id}-i{keys[4]}"
    _edit(
        session,
        draft,
        DraftEdit("add_unit", last, value="省民政厅", text="lead"),
        DraftEdit("remove_unit", f"d{draft.id}-i2", unit=2),
    )
    _edit(session, draft, DraftEdit("merge", f"d{draft.id}-i{keys[3]}"))
    assert [i["label"] for i in draft.corrected["items"]][2:] == ["（三）", "（三之一）"]
    published = _publish(session, draft)
    version = session.get_one(Policy, published.policy_id).versions[-1]
    assert [i.label for i in version.items] == ["（一）", "（二）", "（三）", "（三之一）"]
    part = session.scalars(select(PolicyItem).where(PolicyItem.label == "（三之一）")).one()
    assert part.number == keys[4] and part.is_task


def test_an_amendments_split_part_never_takes_a_number_the_policy_used(session):
    draft = _draft(session, text=LONGER)
    _edit(session, draft, DraftEdit("remove_unit", f"d{draft.id}-i2", unit=2))
    _edit(session, draft, DraftEdit("split", f"d{draft.id}-i3", value="建立帮扶台账"))
    published = _publish(session, draft)  # numbers 1..4 used
    amend = _draft(session, text=SAMPLE, base_policy_id=published.policy_id)
    _edit(session, amend, DraftEdit("split", f"d{amend.id}-i3", value="实行动态监测"))
    assert amend.corrected["items"][3]["ordinal"] == 5


def test_part_labels_read_like_inserted_articles():
    assert [chinese_number(n) for n in (1, 10, 11, 20, 99, 100)] == [
        "一",
        "十",
        "十一",
        "二十",
        "九十九",
        "100",
    ]
    assert part_label("（五）", 1) == "（五之一）"
    assert part_label("5.", 2) == "5之二."
    assert part_label("第十二条", 1) == "第十二条之一"
    assert part_label("一、", 3) == "一之三、"


@pytest.mark.parametrize(
    ("query", "first", "alias"),
    [
        ("教育", "教育部", ""),
        ("省財政廳", "省财政厅", ""),  # Traditional finds the Simplified name
        ("乡村振兴", "省扶贫办", "省乡村振兴局"),  # an alias of the registry
        ("鄉村振興", "省扶贫办", "省乡村振兴局"),
        ("jl-czt", "省财政厅", ""),
        ("人社部", "人力资源社会保障部", "人社部"),
    ],
)
def test_departments_are_found_by_name_code_or_alias_in_either_script(session, query, first, alias):
    sync_departments(session=session, registry=load_registry())
    found = search_departments(session=session, query=query)
    assert found and (found[0].department.name, found[0].alias) == (first, alias)


def test_a_blank_or_unmatched_search_finds_nothing_and_a_wide_one_is_capped(session):
    sync_departments(session=session, registry=load_registry())
    assert search_departments(session=session, query="  ") == []
    assert search_departments(session=session, query="没有这个单位") == []
    assert len(search_departments(session=session, query="省")) == 20


def test_a_draft_repeating_the_running_text_is_told_it_adds_no_version(session):
    draft = _draft(session)
    _edit(session, draft, DraftEdit("remove_unit", f"d{draft.id}-i2", unit=2))
    published = _publish(session, draft)
    assert same_text_version(session=session, draft=draft) is None  # published: nothing to say
    again = _draft(session, base_policy_id=published.policy_id)
    assert same_text_version(session=session, draft=again) == 1
    changed = _draft(session, text=LONGER, base_policy_id=published.policy_id)
    assert same_text_version(session=session, draft=changed) is None
