"""Golden tests: the bundled documents parse to their reviewed JSON, in both scripts."""

from __future__ import annotations

import json
from datetime import date

import opencc
import pytest

from policies.parse import parse_file, parse_text
from policies.script import fold
from tests.policies.conftest import DOCUMENTS, GENRE, GOLDEN, JILIN

# Counted by reading each text: items, tasks (items with units), assignments, departments.
EXPECTED = {
    "jilin-2021-consolidation-revitalization": (29, 25, 132, 35),
    "guoban_2018_117_incentives": (30, 30, 46, 21),
    "guoban_2018_128_zero_waste_city": (19, 6, 53, 20),
    "guoban_2018_129_consumption_poverty": (17, 17, 114, 32),
    "guofa_2018_38_ftz_reform": (53, 53, 85, 26),
    # Items 13-15 name 各有关部门和单位, a collective unit (it only marked the list open before).
    "guofa_2018_39_employment": (15, 15, 39, 14),
    "guofa_2018_42_agri_mechanization": (20, 18, 71, 17),
    "guofa_2019_3_bonded_zones": (21, 21, 48, 13),
}
# (item ordinal, lead units, unit count) checked by hand for several items of each document.
LEADS = {
    "jilin-2021-consolidation-revitalization": [
        (5, ["省扶贫办"], 12),
        (13, ["省教育厅"], 4),
        (18, ["省民政厅"], 1),
        (22, ["省地方金融监管局"], 6),
    ],
    "guoban_2018_117_incentives": [
        (1, ["市场监管总局"], 1),
        (8, ["人民银行"], 3),
        (24, ["住房城乡建设部"], 3),
    ],
    "guoban_2018_128_zero_waste_city": [
        (6, ["生态环境部", "试点城市政府"], 11),
        (10, ["试点城市政府"], 5),
        (11, ["试点城市政府"], 14),
    ],
    "guoban_2018_129_consumption_poverty": [
        (1, ["国务院扶贫办"], 11),
        (3, ["全国工商联"], 9),
        (9, ["中央宣传部"], 7),
    ],
    "guofa_2018_38_ftz_reform": [
        (1, ["人力资源社会保障部"], 3),
        (16, ["国家发展改革委"], 2),
        (40, ["人民银行"], 6),
        (45, ["人民银行"], 1),
        (52, ["人力资源社会保障部"], 5),
    ],
    "guofa_2018_39_employment": [
        (1, ["人力资源社会保障部"], 2),
        (4, ["人力资源社会保障部"], 6),
        (12, ["各省级人民政府"], 1),
        (13, ["各有关部门和单位"], 1),
        (14, ["各有关部门和单位"], 2),
    ],
    "guofa_2018_42_agri_mechanization": [
        (3, ["工业和信息化部"], 4),
        (6, ["市场监管总局"], 4),
        (18, ["农业农村部", "工业和信息化部"], 2),
    ],
    "guofa_2019_3_bonded_zones": [(1, ["税务总局"], 3), (9, ["药监局"], 2), (14, ["商务部"], 4)],
}


def _counts(path):
    policy = parse_file(path)
    assignments = sum(len(i.units) for i in policy.items)
    departments = {u.name for i in policy.items for u in i.units}
    return len(policy.items), len(policy.tasks), assignments, len(departments)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_matches_golden(path):
    golden = json.loads((GOLDEN / f"{path.stem}.json").read_text(encoding="utf-8"))
    assert parse_file(path).to_json() == golden


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_counts_read_by_hand(path):
    assert _counts(path) == EXPECTED[path.stem]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_leads_read_by_hand(path):
    items = parse_file(path).items
    for ordinal, leads, count in LEADS[path.stem]:
        item = items[ordinal - 1]
        assert [u.name for u in item.units if u.role == "lead"] == leads
        assert len(item.units) == count
    assert not parse_file(path).unknown_units


def test_jilin_outline():
    policy = parse_file(JILIN)
    assert policy.issued == date(2021, 4, 2)
    assert len(policy.sections) == 7
    assert [i.number for i in policy.items] == list(range(1, 30))
    assert [i.number for i in policy.tasks] == list(range(5, 30))
    assert policy.attachments[0].title == "省级乡村振兴重点帮扶县名单"
    assert policy.attachments[0].entries[:2] == ("靖宇县", "镇赉县")
    assert len(policy.attachments[0].entries) == 12
    item13 = policy.items[12]
    misspelt = next(u for u in item13.units if u.as_written == "省衛建委")
    assert (misspelt.name, misspelt.code) == ("省卫健委", "jl-wjw")
    item17 = policy.items[16]
    assert [(d.text, d.date) for d in item17.deadlines] == [("2022年底前", date(2022, 12, 31))]
    assert ("过渡期内", date(2025, 12, 31)) in [(d.text, d.date) for d in policy.items[4].deadlines]


def _without_as_written(data):
    for item in data["items"]:
        for unit in item["units"]:
            unit.pop("as_written")
        for target in item["targets"]:
            target.pop("text")  # as written, like a unit's as_written
    return data


def test_jilin_simplified_gives_the_same_result():
    text = JILIN.read_text(encoding="utf-8")
    simplified = opencc.OpenCC("t2s").convert(text)
    expected = _without_as_written(parse_file(JILIN).to_json())
    assert _without_as_written(parse_text(simplified).to_json()) == expected


@pytest.mark.parametrize("path", GENRE, ids=lambda p: p.stem)
def test_genre_traditional_gives_the_same_result(path):
    traditional = opencc.OpenCC("s2t").convert(path.read_text(encoding="utf-8"))
    result = parse_text(traditional)
    assert _without_as_written(result.to_json()) == _without_as_written(parse_file(path).to_json())
    assert not result.unknown_units


def _without_spans(data):
    for item in data["items"]:
        item.pop("span")
        for unit in item["units"]:
            unit.pop("span")
        for target in item["targets"]:
            target.pop("span")
    return data


def _assert_spans_stand_in(text, policy):
    for item in policy.items:
        # An item's span runs from its title to the end of its text, in the text as given.
        start, end = item.span
        assert fold(text[start:end]).startswith(item.title), item.ordinal
        assert fold(text[start:end]).replace("\r\n", "\n").endswith(item.body[-20:])
        for unit in item.units:
            assert unit.span is not None, (item.ordinal, unit.as_written)
            assert text[unit.span[0] : unit.span[1]] == unit.as_written
        for target in item.targets:
            assert target.span is not None, (item.ordinal, target.text)
            assert text[target.span[0] : target.span[1]] == target.text


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_every_unit_span_gives_the_unit_as_written(path):
    text = path.read_text(encoding="utf-8")
    _assert_spans_stand_in(text, parse_text(text))


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_crlf_and_bom_give_the_same_result(tmp_path, path):
    text = "\ufeff" + path.read_text(encoding="utf-8").replace("\n", "\r\n")
    target = tmp_path / "doc.txt"
    target.write_bytes(text.encode())
    expected = _without_spans(parse_file(path).to_json())
    assert _without_spans(parse_file(target).to_json()) == expected
    _assert_spans_stand_in(text, parse_text(text))
