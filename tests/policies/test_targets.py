"""Quantitative targets of items (issue 15): number, unit, direction, scope, deadline and span."""

from __future__ import annotations

import contextlib
import json

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.model import PolicyParseError
from policies.parse import parse_text
from policies.targets import find_targets
from tests.policies.conftest import JILIN

HEAD = "某市关于推进某项工作的实施方案\n（2024年3月1日）\n一、任务\n"
_S2T = opencc.OpenCC("s2t")


def _targets(body: str) -> list[tuple[str, float, str, str, str | None, str | None]]:
    (item,) = parse_text(HEAD + "1．做好工作。" + body + "（责任单位：市发改委）").items
    return [
        (
            t.text,
            t.value,
            t.unit,
            t.direction,
            t.scope,
            t.deadline.isoformat() if t.deadline else None,
        )
        for t in item.targets
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("全省每年认定300个脱贫村。", [("认定300个", 300, "个", "reach", "全省每年", None)]),
        ("每县至少建1所养老院。", [("至少建1所", 1, "所", "at_least", "每县", None)]),
        ("优良天数比例不低于80%。", [("不低于80%", 80, "%", "at_least", None, None)]),
        ("农民收入增长1.3倍。", [("增长1.3倍", 1.3, "倍", "increase_by", None, None)]),
        ("到2025年，覆盖率达到95%以上。", [("达到95%以上", 95, "%", "at_least", None, "2025-12-31")]),
        ("能耗控制在5%以内。", [("控制在5%以内", 5, "%", "at_most", None, None)]),
        ("单位能耗下降3.5%。", [("下降3.5%", -3.5, "%", "increase_by", None, None)]),
        ("比上年提高2个百分点。", [("提高2个百分点", 2, "个百分点", "increase_by", None, None)]),
        ("办理时限压缩至3个工作日以内。", [("压缩至3个工作日以内", 3, "个工作日", "at_most", None, None)]),
        ("新建改造农村公路一千二百公里。", [("新建改造农村公路一千二百公里", 1200, "公里", "reach", None, None)]),
        ("累计培训农民5万人次。", [("培训农民5万人次", 5, "万人次", "reach", "累计", None)]),
        ("2024年底前每个乡镇建成两个服务站。", [("建成两个", 2, "个", "reach", "每个乡镇", "2024-12-31")]),
        ("实现行政村快递服务全覆盖。", [("全覆盖", 100, "%", "reach", None, None)]),
        ("种植、收获机械化率分别达到65%和55%。", [("达到65%", 65, "%", "reach", None, None), ("55%", 55, "%", "reach", None, None)]),
    ],
)  # fmt: skip
@pytest.mark.parametrize("script", ["s", "t"])
def test_targets_are_read_with_direction_scope_and_deadline(body, expected, script):
    if script == "t":  # read in Simplified: the text as written, unit and scope normalized
        body = _S2T.convert(body)
        expected = [(_S2T.convert(text), *rest) for text, *rest in expected]
    assert _targets(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "严格落实“四个不摘”要求。",  # a slogan in quotes
        "重点实施通村入屯、加宽改造等五项工程。",  # a summary of what was listed
        "设立5年过渡期，开展为期2年的帮扶工作。",  # durations
        "在两年之内对其给予奖励。",
        "符合条件且人数达到职工总数25%的，可申请贷款。",  # a condition
        "可申请最高不超过300万元的贷款。",  # a benefit's cap
        "每年选派一批专业技术人才，推行一户一策。",  # no figure
        "依据中发〔2020〕30号文件，第3年起实施。",
        "支持3A级及以上旅游景区建设，年满18周岁。",
    ],
)
@pytest.mark.parametrize("script", ["s", "t"])
def test_figures_that_are_no_targets(body, script):
    assert _targets(body if script == "s" else _S2T.convert(body)) == []


def test_a_date_opening_a_paragraph_holds_for_its_later_sentences():
    body = "到2020年，农机总动力超过10亿千瓦。机械化率达到70%。\n到2025年，机械化率达到75%。"
    deadlines = [t[5] for t in _targets(body)]
    assert deadlines == ["2020-12-31", "2020-12-31", "2025-12-31"]


def test_a_target_without_a_date_of_its_own_takes_the_items_one_deadline():
    (item,) = parse_text(
        HEAD + "1．建设养老院。每县建设3所养老院。（责任单位：市民政局，完成时限：2024年6月）"
    ).items
    assert [t.deadline and t.deadline.isoformat() for t in item.targets] == ["2024-06-30"]


def test_traditional_script_reads_alike_and_keeps_its_text_as_written():
    text = _S2T.convert(
        HEAD + "1．做好工作。2024年底前每个县至少建有1所养老机构。（责任单位：省民政厅）"
    )
    (item,) = parse_text(text).items
    (target,) = item.targets
    assert target.text == "至少建有1所" and target.scope == "每个县" and target.unit == "所"
    assert target.span is not None and text[target.span[0] : target.span[1]] == target.text


def test_table_rows_carry_the_targets_of_their_task_cell():
    text = (
        "某市重点任务分工\n2024年3月1日\n序号 | 重点任务 | 牵头单位 | 责任单位 | 完成时限 |\n"
        "1 | 推进老旧小区改造，年内完成40个。 | 市住建局 | 各区政府 | 2024年底 |\n"
    )
    (item,) = parse_text(text).items
    (target,) = item.targets
    assert (target.text, target.value, target.deadline and target.deadline.isoformat()) == (
        "完成40个",
        40,
        "2024-12-31",
    )
    assert target.span is not None and text[target.span[0] : target.span[1]] == "完成40个"


def test_the_json_gives_each_target_its_fields():
    (item,) = parse_text(HEAD + "1．做好工作。每年新增就业1.5万人。（责任单位：市人社局）").items
    (target,) = item.targets
    assert target.span is not None
    assert json.loads(json.dumps(item.to_json()))["targets"] == [
        {
            "text": "新增就业1.5万人",
            "value": 1.5,
            "unit": "万人",
            "direction": "reach",
            "scope": "每年",
            "deadline": None,
            "span": list(target.span),
        }
    ]


def test_the_jilin_documents_targets():
    text = JILIN.read_text(encoding="utf-8")
    found = [
        (item.label, t.value, t.unit, t.direction, t.scope)
        for item in parse_text(text).items
        for t in item.targets
    ]
    assert found == [
        ("(十二)", 100, "%", "reach", None),
        ("(十五)", 1.3, "倍", "at_least", None),
        ("(十七)", 1, "所", "at_least", "每个县"),
        ("(十九)", 12, "个", "reach", "全省"),
        ("(二十)", 300, "个", "reach", "全省每年"),
        ("(二十四)", 300, "名", "reach", "每年"),
    ]


PIECES = [
    "每年", "每个县", "累计", "全省", "至少", "不低于", "不超过", "控制在", "达到", "增长",
    "下降", "提高到", "以上", "以内", "左右", "300", "1.3", "一千二百", "两", "个", "所", "%",
    "倍", "万", "亿", "元", "年", "个工作日", "“", "”", "《", "》", "第", "等", "的", "，", "。",
    "；", "\n", "2024年底前", "到2025年", "建设", "培训", "全覆盖", "一", "可申请", " ",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=50))
def test_any_jumble_of_figures_gives_targets_whose_spans_stand(pieces):
    body = "".join(pieces)
    for t in find_targets(body, year=2024):
        assert 0 <= t.start < t.end <= len(body)
    text = HEAD + "1．做好工作。" + body + "（责任单位：市发改委）"
    with contextlib.suppress(PolicyParseError):
        for item in parse_text(text).items:
            for target in item.targets:
                assert target.span is not None
                assert text[target.span[0] : target.span[1]] == target.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_targets_within_it(text):
    for t in find_targets(text, year=None):
        assert 0 <= t.start < t.end <= len(text)
        assert t.direction in ("at_least", "at_most", "reach", "increase_by")
