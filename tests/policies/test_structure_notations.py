"""Goldens of the structure notations (NOTATIONS families 1, 5's label lines, 7 and 9).

Each document under notations/structure/ is invented; it is read in Simplified, in Traditional and with
CRLF line ends, and every item's span holds its title in the exact text given to the parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opencc
import pytest

from policies.parse import parse_text
from policies.script import fold

NOTATIONS = Path(__file__).with_name("notations") / "structure"

# (section, label, title, units with roles, deadlines, doubts) of every item, read by hand.
EXPECTED: dict[str, list[Any]] = {
    # Family 1: tasks in an attachment; the attachment index line is no item, a list stays a list.
    "attachment_tasks": [
        (2, "（一）", "日常考评", [], [], []),
        (2, "（二）", "年度考评", [], ["2024-12-31"], []),
        (4, "1．", "主次干道无乱堆乱放", [("市城管局", "lead")], [], []),
        (
            4,
            "2．",
            "背街小巷路灯完好率达95%以上",
            [("市城管局", "lead"), ("市供电公司", "lead")],
            [],
            [],
        ),
        (4, "3．", "非机动车规范停放", [("市公安局交警支队", "lead")], [], []),
        (5, "4．", "政务服务大厅实行“好差评”", [("市政务服务中心", "lead")], [], []),
    ],
    # Family 5: labels on their own lines after the item, the same line under many items.
    "label_lines": [
        (
            1,
            "1．",
            "固定资产投资增长10%左右",
            [("县发改局", "lead"), ("县住建局", "co"), ("县交通局", "co")],
            ["2023-12-31"],
            [],
        ),
        (
            1,
            "2．",
            "规模以上工业增加值增长8%",
            [("县工信局", "lead"), ("县财政局", "co")],
            ["2023-12-31"],
            [],
        ),
        (
            1,
            "3．",
            "社会消费品零售总额增长7%",
            [("县商务局", "lead"), ("县财政局", "co")],
            ["2023-12-31"],
            [],
        ),
        (2, "4．", "新增城镇就业1000人", [("县人社局", "lead")], ["2023-12-31"], []),
        (
            2,
            "5．",
            "改造农村公路50公里",
            [("县交通局", "lead"), ("县财政局", "co")],
            ["2023-12-31"],
            [],
        ),
    ],
    # Family 7: depth decided where it stands, 5.100个, 一是…二是…, unnumbered task paragraphs.
    "mixed_depth": [
        (2, "1．", "推进重大项目开工", [("区发改局", "lead"), ("区住建局", "co")], [], []),
        (2, "2．", "做好要素保障", [("区自然资源局", "lead"), ("区财政局", "co")], [], []),
        (2, "3．", "推介优质项目", [("区发改局", "lead")], [], []),
        (2, "4．", "落实减税降费", [("区税务局", "lead")], [], []),
        (3, "（一）", "实施城市更新行动", [("区住建局", "lead")], ["2023-12-31"], []),
        (
            3,
            "5.",
            "100个美丽庭院创建行动",
            [("区农业农村局", "lead"), ("区妇联", "co")],
            ["2023-10-31"],
            [],
        ),
        (3, "一是", "整治河道", [("区水务局", "lead")], [], []),
        (3, "二是", "整治扬尘", [("区城管局", "lead")], [], []),
        (4, "", "加大研发投入奖补", [("区科技局", "lead"), ("区财政局", "co")], [], []),
        (4, "", "建设中试基地", [("区科技局", "lead")], [], []),
        (5, "（一）", "加强组织领导", [], [], ["item_without_units"]),
        (5, "（二）", "强化督查考核", [("区督查室", "lead")], [], []),
    ],
    # Family 9: a table with `|` cells (one per line, a cell over two lines, a row on one line,
    # a tab-separated row, merged heading rows).
    "table_bars": [
        (
            0,
            "12",
            "建设智慧停车平台",
            [("市城管局", "lead"), ("市公安局", "co"), ("市住建局", "co")],
            ["2024-09-30"],
            [],
        ),
        (
            0,
            "13",
            "推进老旧小区改造，年内完成40个",
            [("市住建局", "lead"), ("各区政府", "co")],
            ["2024-12-31"],
            [],
        ),
        (
            0,
            "14",
            "推进污水管网建设",
            [("市水务局", "lead"), ("市财政局", "co")],
            ["2024-11-30"],
            [],
        ),
    ],
    # Family 9: rows of one line split by ` | ` (as .docx tables arrive), a merged heading row
    # repeated in every cell, the header again on a new page, a cell of two paragraphs, an empty
    # cell; the tasks of the body name no units and stay items.
    "table_rows": [
        (2, "（一）", "优化政务服务", [], [], []),
        (2, "（二）", "强化要素保障", [], [], []),
        (
            4,
            "1",
            "推行“一件事一次办”",
            [("市政务服务局", "lead"), ("市司法局", "co"), ("各县（市、区）政府", "co")],
            ["2024-06-30"],
            [],
        ),
        (
            4,
            "2",
            "推进证照分离改革",
            [("市市场监管局", "lead"), ("市政务服务局", "co")],
            ["2024-09-30"],
            [],
        ),
        (4, "3", "降低企业用地成本", [("市自然资源局", "lead")], ["2024-12-31"], []),
    ],
    # Family 9: rows of one line split by spaces, under a header and without one.
    "table_spaces": [
        (
            0,
            "1",
            "推进老旧小区改造，年内完成40个",
            [("区住建局", "lead"), ("各街道办事处", "co")],
            ["2024-12-31"],
            [],
        ),
        (
            0,
            "2",
            "新建社区食堂10个",
            [("区民政局", "lead"), ("区市场监管局", "co")],
            ["2024-10-31"],
            [],
        ),
        (0, "3", "推进污水管网建设", [("区水务局", "lead")], [], []),
        (
            0,
            "7",
            "实施背街小巷整治工程",
            [("区城管局", "lead"), ("区财政局", "co")],
            ["2024-09-30"],
            [],
        ),
        (0, "8", "增设公共充电桩500个", [("区发改局", "lead")], [], []),
    ],
}


def _variants(text: str) -> dict[str, str]:
    traditional = opencc.OpenCC("s2t").convert(text)
    return {
        "simplified": text,
        "traditional": traditional,
        "crlf": text.replace("\n", "\r\n"),
        "traditional-crlf": traditional.replace("\n", "\r\n"),
    }


def _reading(item):
    return (
        item.section,
        item.label,
        item.title,
        [(u.name, u.role) for u in item.units],
        [d.date.isoformat() for d in item.deadlines],
        [d.code for d in item.doubts],
    )


CASES = [
    (name, variant)
    for name in EXPECTED
    for variant in ("simplified", "traditional", "crlf", "traditional-crlf")
]


@pytest.mark.parametrize(("name", "variant"), CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_structure_notation(name, variant):
    text = _variants((NOTATIONS / f"{name}.txt").read_text(encoding="utf-8"))[variant]
    policy = parse_text(text)
    assert [_reading(item) for item in policy.items] == [tuple(e) for e in EXPECTED[name]]
    assert [item.ordinal for item in policy.items] == list(range(1, len(policy.items) + 1))
    for item in policy.items:
        assert item.span is not None
        start, end = item.span
        written = fold(text[start:end])
        assert written.startswith(item.title)
        assert item.body.replace("\n", "")[-8:] in written.replace("\r\n", "").replace("\n", "")
        for unit in item.units:
            if unit.span is not None:
                assert text[unit.span[0] : unit.span[1]] == unit.as_written
                assert start <= unit.span[0] <= unit.span[1] <= end


def test_a_list_attachment_stays_a_list_next_to_a_task_attachment():
    text = (NOTATIONS / "attachment_tasks.txt").read_text(encoding="utf-8")
    policy = parse_text(text)
    assert [(a.title, a.entries) for a in policy.attachments] == [
        ("重点区域名单", ("东城区", "西城区", "南湖新区"))
    ]
    assert [(s.number, s.title) for s in policy.sections][3:] == [
        (4, "城市环境（30分）"),
        (5, "公共服务（20分）"),
    ]
    assert len(policy.tasks) == 4
    assert sum(len(i.units) for i in policy.items) == 5


def test_table_rows_keep_their_groups_and_measures():
    policy = parse_text((NOTATIONS / "table_rows.txt").read_text(encoding="utf-8"))
    rows = policy.items[2:]
    assert [r.group for r in rows] == ["一、优化政务服务", "一、优化政务服务", "二、强化要素保障"]
    assert rows[1].body == "全面实行告知承诺制。\n落实涉企经营许可事项清单。"
    assert policy.sections[-1].title == "营商环境优化提升重点任务清单"
    assert [a.title for a in policy.attachments] == ["联系人名单"]


def test_table_cells_keep_unknown_names_as_written_with_a_doubt():
    text = (NOTATIONS / "table_bars.txt").read_text(encoding="utf-8")
    unit = parse_text(text).items[0].units[0]
    assert (unit.as_written, unit.known) == ("市城管局", False)
    assert [d.code for d in unit.doubts] == ["unknown_unit"]
    assert unit.span is not None
    assert text[unit.span[0] : unit.span[1]] == "市城管局"


HEAD = "某市关于推进某项工作的实施意见\n（2024年1月2日）\n一、重点任务\n"


@pytest.mark.parametrize(
    "attachments",
    ["附件：1.某某任务分工表 2.某某清单", "附件：1.某某任务分工表\n2.某某清单"],
)
def test_an_attachment_index_is_no_item(attachments):
    text = (
        HEAD + "（一）做好工作。（市发改委负责）\n" + attachments + "\n某市人民政府\n2024年1月2日\n"
    )
    policy = parse_text(text)
    assert [i.title for i in policy.items] == ["做好工作"]
    assert policy.attachments == ()


def test_decimals_and_dates_at_a_line_start_are_no_items():
    lines = [
        "（一）做好工作。（市发改委负责）",
        "1.5倍的增速是目标。",
        "2023.5起按月调度。",
        "（二）做好服务。（市财政局负责）",
    ]
    policy = parse_text(HEAD + "\n".join(lines))
    assert [i.title for i in policy.items] == ["做好工作", "做好服务"]
    assert "1.5倍" in policy.items[0].body and "2023.5" in policy.items[0].body


def test_parts_without_their_own_units_stay_in_the_item():
    text = HEAD + "（一）做好工作。一是建立台账；二是定期调度。（市发改委负责）"
    (item,) = parse_text(text).items
    assert item.title == "做好工作" and "二是定期调度" in item.body


def test_a_running_header_is_dropped_but_a_repeated_label_line_is_kept():
    header = "某某法规数据库"
    lines = [header, "一、重点任务", "1．甲。", "责任单位：市财政局", header]
    lines += ["2．乙。", "责任单位：市财政局", header]
    policy = parse_text("\n".join(lines))
    assert [[u.name for u in i.units] for i in policy.items] == [["市财政局"], ["市财政局"]]
    assert all(header not in i.body for i in policy.items)


def test_units_of_the_last_sub_point_cover_an_enumerated_item():
    text = (
        HEAD + "（一）做好三项工作：\n1．建立台账；\n2．定期调度；\n3．按月通报。（市发改委负责）\n"
    )
    (item,) = parse_text(text).items
    assert item.title == "做好三项工作"
    assert [u.as_written for u in item.units] == ["市发改委"]
    assert "3．按月通报" in item.body


def test_a_document_of_unnumbered_task_paragraphs():
    text = (
        "某县关于做好秋冬季工作的通知\n"
        "加强秋粮收储。做好秋粮收购和仓储工作。（责任单位：县粮食局）\n"
        "做好冬季供暖。确保居民温暖过冬。（责任单位：县住建局、县供热公司）\n"
    )
    policy = parse_text(text)
    assert [(i.title, [u.name for u in i.units]) for i in policy.items] == [
        ("加强秋粮收储", ["县粮食局"]),
        ("做好冬季供暖", ["县住建局", "县供热公司"]),
    ]


def test_a_table_with_numbered_cells_and_numeral_heading_rows():
    text = (
        "某县重点工作任务清单\n"
        "序号 | 工作任务 | 责任单位 | 完成时限\n"
        "一 | 项目建设 |  | \n"
        "1. | 建成县城污水处理厂。 | 县住建局、县水利局（河长办） | 2024年6月底\n"
        "2. | 完成农村公路改造。 | 县交通局 | \n"
    )
    policy = parse_text(text)
    assert [(i.number, i.group, i.title) for i in policy.items] == [
        (1, "一 项目建设", "建成县城污水处理厂"),
        (2, "一 项目建设", "完成农村公路改造"),
    ]
    first = policy.items[0]
    assert [(u.name, u.role) for u in first.units] == [
        ("县住建局", "lead"),
        ("县水利局（河长办）", "co"),
    ]
    # A 责任单位 column without a 牵头单位 column: the first listed leads, and that is a guess.
    assert [d.code for d in first.units[0].doubts] == ["role_guessed", "unknown_unit"]


def test_task_paragraphs_before_the_first_number_and_half_bracket_markers():
    text = (
        "某镇关于做好防汛工作的通知\n"
        "做好汛前检查。全面排查隐患点位。（责任单位：镇应急办）\n"
        "一、工作措施\n"
        "1）加强值班值守。（责任单位：镇党政办）\n"
        "2）落实转移预案。（责任单位：镇应急办、各村委会）\n"
    )
    policy = parse_text(text)
    assert [(i.label, i.title) for i in policy.items] == [
        ("", "做好汛前检查"),
        ("1）", "加强值班值守"),
        ("2）", "落实转移预案"),
    ]


def test_tab_separated_rows_keep_their_empty_cells():
    text = (
        "某市任务表\n序号\t重点任务\t牵头单位\t责任单位\t完成时限\n"
        "1\t推进老旧小区改造。\t\t市住建局、各区政府\t2024年底\n"
        "2\t建设口袋公园。\t市园林局\t\t\n"
    )
    first, second = parse_text(text).items
    assert [(u.name, u.role) for u in first.units] == [("市住建局", "lead"), ("各区政府", "co")]
    assert first.units[0].doubts[0].code == "role_guessed"
    assert [d.date.isoformat() for d in first.deadlines] == ["2024-12-31"]
    assert [(u.name, u.role) for u in second.units] == [("市园林局", "lead")]
    assert second.deadlines == ()


def test_rows_split_by_spaces_may_number_with_a_dot_and_a_table_may_have_two_columns():
    text = (
        "某区清单\n序号 重点任务 牵头单位 责任单位 完成时限\n"
        "1．推进老旧小区改造。 区住建局 各街道 2024年底\n"
        "2. 新建社区食堂。 区民政局\n"
        "工作任务 | 责任单位\n"
        "建设口袋公园 | 区园林局\n"
        "修缮古建筑 | 区文旅局、区财政局\n"
    )
    policy = parse_text(text)
    assert [(i.number, i.title, [u.name for u in i.units]) for i in policy.items] == [
        (1, "推进老旧小区改造", ["区住建局", "各街道"]),
        (2, "新建社区食堂", ["区民政局"]),
        (1, "建设口袋公园", ["区园林局"]),
        (2, "修缮古建筑", ["区文旅局", "区财政局"]),
    ]


def test_a_table_as_docx_and_pdf_tables_arrive():
    # One line per row ending in ` |`, a merged caption row as a plain line, a short row.
    text = (
        "某市2024年重点任务分工方案\n为推进重点工作，制定本方案。\n"
        "序号 | 重点任务 | 牵头单位 | 责任单位 | 完成时限 |\n"
        "一、城市建设\n"
        "1 | 建设智慧停车平台。 | 市城管局 | 市公安局、市住建局 | 2024年9月 |\n"
        "2 | 新建口袋公园。 | 市园林局 |\n"
        "3 | 推进老旧小区改造。 | 市住建局 | 各区政府 | 2024年底 |\n"
        "某市人民政府\n"
    )
    policy = parse_text(text)
    assert [(i.number, i.group, [u.name for u in i.units]) for i in policy.items] == [
        (1, "一、城市建设", ["市城管局", "市公安局", "市住建局"]),
        (2, "一、城市建设", ["市园林局"]),
        (3, "一、城市建设", ["市住建局", "各区政府"]),
    ]
    assert [[d.date.isoformat() for d in i.deadlines] for i in policy.items] == [
        ["2024-09-30"],
        [],
        ["2024-12-31"],
    ]


def test_parts_above_the_sections():
    text = (
        "某市国民经济和社会发展计划重点任务分解\n"
        "第一部分 稳增长\n一、扩大投资\n1．推进重大项目。（责任单位：市发改委）\n"
        "第二部分 惠民生\n一、促进就业\n1．开展技能培训。（责任单位：市人社局）\n"
    )
    policy = parse_text(text)
    assert [(s.number, s.title) for s in policy.sections] == [(1, "稳增长"), (2, "惠民生")]
    assert [(i.section, i.group, i.title) for i in policy.items] == [
        (1, "扩大投资", "推进重大项目"),
        (2, "促进就业", "开展技能培训"),
    ]


def test_parts_of_an_unnumbered_paragraph_with_their_own_units():
    text = (
        "某县关于做好秋冬季工作的通知\n"
        "做好安全生产。一是排查燃气隐患（责任单位：县住建局）；二是整治消防通道（责任单位：县消防救援大队）。\n"
        "做好冬季供暖。确保居民温暖过冬。（责任单位：县住建局）\n"
    )
    policy = parse_text(text)
    assert [(i.label, i.group, i.title) for i in policy.items] == [
        ("一是", "做好安全生产", "排查燃气隐患"),
        ("二是", "做好安全生产", "整治消防通道"),
        ("", "", "做好冬季供暖"),
    ]
