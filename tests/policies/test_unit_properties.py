"""Properties of unit reading on any text: only PolicyParseError escapes, spans stand in the text."""

from __future__ import annotations

import contextlib
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.model import PolicyParseError
from policies.parse import parse_text
from policies.unitlists import bracket_spans

HEAD = "某市关于推进某项工作的实施方案\n（2024年1月1日）\n一、任务\n"
PIECES = [
    "1．",
    "（一）",
    "做好工作。",
    "（",
    "）",
    "(",
    ")",
    "[",
    "]",
    "〔",
    "〕",
    "【",
    "】",
    "牵头单位：",
    "责任单位:",
    "配合单位 ",
    "负责部门：",
    "牵头领导：",
    "适用范围：",
    "完成时限：",
    "市发改局",
    "县水利局（河长办）",
    "各县（市、区）人民政府",
    "各有关单位",
    "省財政廳",
    "拱北海关",
    "牵头",
    "配合",
    "负责",
    "，",
    "、",
    "；",
    "。",
    "\n",
    "\r\n",
    " ",
    "2024年6月底",
    "三季度",
    "按序时推进",
    "2分",
    "等",
    "下同",
    "列第一位者为牵头单位",
    "以下各项均需",
    "各县、区",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60))
def test_any_jumble_of_notations_reads_or_refuses_cleanly(pieces):
    text = HEAD + "".join(pieces)
    try:
        policy = parse_text(text)
    except PolicyParseError:
        return
    for item in policy.items:
        for unit in item.units:
            assert unit.span is not None
            assert text[unit.span[0] : unit.span[1]] == unit.as_written
        assert not item.units or any(u.role == "lead" for u in item.units)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_raises_only_policy_parse_error(text):
    with contextlib.suppress(PolicyParseError):
        parse_text(text)


@given(st.text(alphabet="（）()[]〔〕【】a、\n", max_size=200))
def test_outermost_brackets_are_apart_and_balanced(text):
    spans = bracket_spans(text)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))
    for start, end in spans:
        assert text[start] in "（([〔【" and text[end - 1] in "）)]〕】"
        assert "\n" not in text[start:end]


def test_a_name_with_brackets_stays_inside_its_list():
    text = "（责任单位：县发改局（粮食局）、各县（市、区）人民政府）后文（注）"
    after = text.index("后文")
    assert bracket_spans(text) == [(0, after), (after + 2, len(text))]
    assert bracket_spans("）（未闭合\n（闭合）") == [(6, 10)]
