"""Synthetic documents for every numbering and unit notation the parser reads."""

from __future__ import annotations

from datetime import date

import pytest

from policies.numerals import chinese_to_int
from policies.parse import parse_text

HEAD = "某省关于推进某项工作的实施意见\n（2021年4月2日）\n"


def units(item):
    return [(u.name, u.role) for u in item.units]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十一", 11),
        ("二十九", 29),
        ("三十一", 31),
        ("四十", 40),
        ("一百零一", 101),
        ("12", 12),
    ],
)
def test_chinese_numerals(text, value):
    assert chinese_to_int(text) == value


def test_sections_and_items_in_both_bracket_widths_to_the_forties():
    lines = ["一、总体要求", "（一）指导思想。正文。"]
    lines += [f"({n})任务{n}。（省发改委负责）" for n in ("二十九", "三十一", "四十")]
    lines += ["二、保障措施", "（四十一）加强领导。（省财政厅负责）"]
    policy = parse_text(HEAD + "\n".join(lines))
    assert [(s.number, s.title) for s in policy.sections] == [(1, "总体要求"), (2, "保障措施")]
    assert [(i.number, i.section) for i in policy.items] == [
        (1, 1),
        (29, 1),
        (31, 1),
        (40, 1),
        (41, 2),
    ]
    assert policy.items[0].title == "指导思想" and not policy.items[0].units


@pytest.mark.parametrize("marker", ["{n}.", "{n}．", "{n}﹒", "（{n}）", "({n})"])
def test_arabic_items_under_sections(marker):
    lines = ["一、主要任务"] + [
        marker.format(n=n) + f"任务{n}。（省发改委、省财政厅负责）" for n in (1, 2, 3)
    ]
    policy = parse_text(HEAD + "\n".join(lines))
    assert [i.number for i in policy.items] == [1, 2, 3]
    assert units(policy.items[2]) == [("省发改委", "lead"), ("省财政厅", "co")]


def test_first_level_items_without_sections():
    text = (
        HEAD + "\n".join(f"{n}、任务{n}。（商务部负责）" for n in ("一", "二", "三")) + "\n结束语。"
    )
    policy = parse_text(text)
    assert policy.sections == ()
    assert [(i.number, i.section) for i in policy.items] == [(1, 0), (2, 0), (3, 0)]
    assert "结束语" not in policy.items[-1].body


@pytest.mark.parametrize("head", ["推进一网通办。首段。", "推进一网通办"])
def test_a_multi_paragraph_item_keeps_each_paragraph_once(head):
    text = HEAD + f"一、重点任务\n（一）{head}\n第二段。\n第三段。（商务部负责）\n"
    (item,) = parse_text(text).items
    assert item.title == "推进一网通办"
    assert item.body == "\n".join(
        [*(["首段。"] if "首段" in head else []), "第二段。", "第三段。（商务部负责）"]
    )


def test_repeated_page_headers_and_title_are_dropped_and_crlf_read():
    header = "北大法宝 www.pkulaw.com"
    lines = [
        header,
        "某省关于推进某项工作的实施意见",
        "一、任务",
        "（一）甲。（省发改委负责）",
        header,
    ]
    lines += ["某省关于推进某项工作的实施意见", "（二）乙。（省财政厅负责）", header]
    policy = parse_text("\r\n".join(lines))
    assert policy.title == "某省关于推进某项工作的实施意见"
    assert all(header not in i.body and "实施意见" not in i.body for i in policy.items)


@pytest.mark.parametrize(
    ("bracket", "expected", "open_ended"),
    [
        ("(責任單位:省扶貧辦、省財政廳)", [("省扶贫办", "lead"), ("省财政厅", "co")], False),
        (
            "（牵头单位：省发改委；配合单位：省财政厅、省商务厅）",
            [("省发改委", "lead"), ("省财政厅", "co"), ("省商务厅", "co")],
            False,
        ),
        (
            "（省发改委牵头，省财政厅、省商务厅配合）",
            [("省发改委", "lead"), ("省财政厅", "co"), ("省商务厅", "co")],
            False,
        ),
        ("（省财政厅配合，省发改委牵头）", [("省财政厅", "co"), ("省发改委", "lead")], False),
        ("（省发改委负责）", [("省发改委", "lead")], False),
        (
            "（0.5分，牵头考核单位：省发改委、省财政厅）",
            [("省发改委", "lead"), ("省财政厅", "lead")],
            False,
        ),
        (
            "（省发改委、省财政厅等按职责分工落实，下同）",
            [("省发改委", "lead"), ("省财政厅", "co")],
            True,
        ),
        (
            "（省发改委，省财政厅；省商务厅,省教育厅）",
            [("省发改委", "lead"), ("省财政厅", "co"), ("省商务厅", "co"), ("省教育厅", "co")],
            False,
        ),
        (
            "（生态环境部牵头，国家统计局参与，商务部指导）",
            [("生态环境部", "lead"), ("国家统计局", "co"), ("商务部", "co")],
            False,
        ),
        ("（国家发展改革委会同有关部门负责）", [("国家发展改革委", "lead")], True),
        (
            "（扶贫办、全国总工会等和各省级人民政府负责）",
            [("国务院扶贫办", "lead"), ("全国总工会", "co"), ("各省级人民政府", "co")],
            True,
        ),
        (
            "（人社部、财政部负责。列第一位者为牵头单位，下同）",
            [("人力资源社会保障部", "lead"), ("财政部", "co")],
            False,
        ),
        ("（某某市数据局负责）", [("某某市数据局", "lead")], False),
    ],
)
def test_unit_notations(bracket, expected, open_ended):
    policy = parse_text(HEAD + "一、任务\n（一）做好工作。" + bracket)
    assert units(policy.items[0]) == expected
    assert policy.items[0].open_ended is open_ended


LEAD_AND_COS = [("省发改委", "lead"), ("省财政厅", "co"), ("省商务厅", "co")]


@pytest.mark.parametrize(
    "written",
    [
        "牵头单位：省发改委；责任单位：省财政厅、省商务厅。",
        "\n牵头单位：省发改委\n配合单位：省财政厅、省商务厅",
        "\n牵头单位：省发改委。\n\n责任单位：省财政厅、省商务厅。",
        "责任单位：省发改委（牵头）、省财政厅、省商务厅",
        "责任单位:省发改委,省财政厅,省商务厅。",
        "牽頭單位：省發改委；配合單位：省財政廳、省商務廳",
        "责任单位：省发改委、省财政厅、省商务厅；完成时限：2022年底前。",
        "（牵头单位：省发改委 配合单位：省财政厅、省商务厅）",
        "省发改委牵头，省财政厅、省商务厅配合，2022年底前完成。",
    ],
)
def test_labelled_unit_lists_outside_brackets(written):
    item = parse_text(HEAD + "一、任务\n（一）做好工作。推进改革。" + written).items[0]
    assert units(item) == LEAD_AND_COS


def test_lead_words_in_running_text_name_no_units():
    text = (
        HEAD
        + "一、总体要求\n（一）坚持党委领导、政府牵头。部门协同，社会参与。\n二、任务\n（二）做好工作。（省发改委负责）"
    )
    policy = parse_text(text)
    assert [units(i) for i in policy.items] == [[], [("省发改委", "lead")]]


def test_the_first_unit_leads_when_only_co_organizers_are_marked():
    item = parse_text(HEAD + "一、任务\n（一）做好工作。配合单位：省财政厅、省商务厅").items[0]
    assert units(item) == [("省财政厅", "lead"), ("省商务厅", "co")]


def test_a_label_in_running_text_is_no_unit_list():
    text = HEAD + "一、任务\n（一）做好工作。要明确责任单位：加强领导，压实责任。（省发改委负责）"
    assert units(parse_text(text).items[0]) == [("省发改委", "lead")]


def test_a_labelled_list_keeps_its_deadline():
    text = HEAD + "一、任务\n（一）做好工作。责任单位：省发改委；完成时限：2022年底前。"
    item = parse_text(text).items[0]
    assert units(item) == [("省发改委", "lead")]
    assert [(d.text, d.date) for d in item.deadlines] == [("2022年底前", date(2022, 12, 31))]


def test_several_brackets_give_their_union_in_order_and_skip_non_units():
    text = "（一）做好工作（0.5分）（互联网协议第6版）。（省发改委、省财政厅负责）另一段（省财政厅牵头，省商务厅配合）"
    item = parse_text(HEAD + "一、任务\n" + text).items[0]
    assert units(item) == [("省发改委", "lead"), ("省财政厅", "lead"), ("省商务厅", "co")]
    assert [u.as_written for u in item.units] == ["省发改委", "省财政厅", "省商务厅"]


def test_unit_declared_once_for_the_rest_of_the_section():
    lines = [
        "一、主要任务",
        "（一）甲。（生态环境部指导，试点城市政府负责落实。以下均需试点城市政府落实，不再列出）",
        "（二）乙。（商务部、财政部指导）",
        "二、保障措施",
        "（一）丙。（商务部负责）",
    ]
    items = parse_text(HEAD + "\n".join(lines)).items
    assert units(items[0]) == [("生态环境部", "co"), ("试点城市政府", "lead")]
    assert units(items[1]) == [("商务部", "co"), ("财政部", "co"), ("试点城市政府", "lead")]
    assert units(items[2]) == [("商务部", "lead")]


def test_unknown_unit_keeps_its_text_with_a_stable_code():
    item = parse_text(HEAD + "一、任务\n（一）甲。（某縣數據局負責）").items[0]
    unit = item.units[0]
    assert (unit.name, unit.as_written, unit.known) == ("某县数据局", "某縣數據局", False)
    assert unit.code is not None and unit.code.startswith("x-") and len(unit.code) == 12


def test_issue_date_at_the_end_and_attachment():
    text = "某市关于某事的通知\n一、任务\n（一）甲。（省发改委负责）\n某市人民政府\n2020年6月1日\n附件：\n名单\n(3个)\nA县、B县、C市"
    policy = parse_text(text)
    assert policy.issued == date(2020, 6, 1)
    assert [(a.title, a.entries) for a in policy.attachments] == [("名单", ("A县", "B县", "C市"))]
    assert "某市人民政府" not in policy.items[0].body


def test_item_deadlines_and_horizon():
    lines = [
        "一、任务",
        "（一）甲。6月底前完成，2022年底前见效。（省发改委负责）",
        "（二）乙。到2025年，基本建立。年内启动。（省财政厅负责）",
    ]
    policy = parse_text(HEAD + "\n".join(lines))
    assert [(d.text, d.date) for d in policy.items[0].deadlines] == [
        ("6月底前", date(2021, 6, 30)),
        ("2022年底前", date(2022, 12, 31)),
    ]
    assert [d.date for d in policy.items[1].deadlines] == [date(2025, 12, 31), date(2021, 12, 31)]
    assert policy.horizon == date(2025, 12, 31)


def test_horizon_comes_from_tasks_not_from_a_vision_in_the_general_part():
    text = (
        "关于推进某项工作的实施意见\n（2021年4月2日）\n一、总体要求\n"
        "（一）目标任务。到2035年，基本实现现代化。\n"
        "二、重点任务\n（二）完善制度。2023年底前完成。（责任单位：省财政厅）\n"
    )
    policy = parse_text(text)
    assert policy.horizon == date(2023, 12, 31)
    only_context = text.replace("2023年底前完成。", "")
    assert parse_text(only_context).horizon == date(2035, 12, 31)
