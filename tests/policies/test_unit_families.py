"""NOTATIONS families 2, 3, 4, 5, 6 and 8: invented whole documents read as a clerk reads them.

Each `notations/*.txt` has a reviewed `*.json` beside it (units with role and flags, open lists,
scopes, deadlines, doubts); each is read in Simplified, in Traditional and with CRLF line ends.
"""

from __future__ import annotations

import json
from pathlib import Path

import opencc
import pytest

from policies.parse import parse_text

NOTATIONS = Path(__file__).with_name("notations")
DOCUMENTS = sorted(NOTATIONS.glob("*.txt"))


def reading(text: str) -> list[dict[str, object]]:
    """Return what a clerk checks of each item: units, open list, scopes, deadlines, doubts."""
    out: list[dict[str, object]] = []
    for item in parse_text(text).items:
        units = []
        for unit in item.units:
            assert unit.span is not None and text[unit.span[0] : unit.span[1]] == unit.as_written
            flags = [d.code for d in unit.doubts] + (["collective"] if unit.collective else [])
            units.append([unit.name, unit.role, flags])
        out.append(
            {
                "number": item.number,
                "units": units,
                "open_ended": item.open_ended,
                "scopes": list(item.scopes),
                "deadlines": [[d.text, d.date.isoformat()] for d in item.deadlines],
                "doubts": [d.code for d in item.doubts],
            }
        )
    return out


def _expected(path: Path) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(path.with_suffix(".json").read_text("utf-8"))
    return data


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_simplified(path):
    assert reading(path.read_text(encoding="utf-8")) == _expected(path)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_traditional(path):
    traditional = opencc.OpenCC("s2t").convert(path.read_text(encoding="utf-8"))
    assert traditional != path.read_text(encoding="utf-8")
    assert reading(traditional) == _expected(path)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_crlf(path):
    assert reading(path.read_text(encoding="utf-8").replace("\n", "\r\n")) == _expected(path)


HEAD = "某市关于推进某项工作的实施方案\n（2024年3月1日）\n一、任务\n"


def _units(text: str) -> list[tuple[str, str]]:
    (item,) = parse_text(HEAD + text).items
    return [(u.as_written, u.role) for u in item.units]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("（由市住建局负责）", [("市住建局", "lead")]),
        ("（12345热线办公室、市政务办负责）", [("12345热线办公室", "lead"), ("市政务办", "co")]),
        ("（“放心消费”办公室负责）", [("“放心消费”办公室", "lead")]),
        ("（市发改委为牵头单位，市财政局为配合单位）", [("市发改委", "lead"), ("市财政局", "co")]),
        ("（市交通局会同市公安局负责）", [("市交通局", "lead"), ("市公安局", "co")]),
        ("（市交通局负责牵头，各区政府落实）", [("市交通局", "lead"), ("各区政府", "co")]),
        (
            "（牵头处室：办公室；配合处室：财务处、人事处）",
            [("办公室", "lead"), ("财务处", "co"), ("人事处", "co")],
        ),
        (
            "（市数据局牵头；市公安局、市人社局等配合；2024年底前完成）",
            [("市数据局", "lead"), ("市公安局", "co"), ("市人社局", "co")],
        ),
        ("（牵头单位：县委组织部、县人社局）", [("县委组织部", "lead"), ("县人社局", "lead")]),
        ("（責任單位：縣農業農村局、縣財政局）", [("縣農業農村局", "lead"), ("縣財政局", "co")]),
    ],
)
def test_unit_brackets_read_whatever_the_names(written, expected):
    assert _units("1．做好工作。" + written) == expected


@pytest.mark.parametrize(
    "written",
    [
        "1．推进一窗受理（以下简称一窗）改革。",
        "1．落实各项措施。（详见附件2）",
        "1．规范审批（包括设计、施工、监理等环节）。",
        "1．加强保障（各级党委政府要负责）。",
        "1．完善制度（试行）。",
        "1．编制规划。（2024年修订）",
        "1．推行“一窗”（“一窗受理”）。",
    ],
)
def test_running_text_in_brackets_names_no_unit(written):
    assert _units(written) == []


def _doubts(text: str) -> list[list[str]]:
    return [[d.code for d in item.doubts] for item in parse_text(text).items]


# A section whose items close with a time limit where their unit list would stand: no other
# item of the section names units, so only the bracket tells that units are missing.
_TIMED = HEAD + "1．推进老旧小区改造。（2024年底前）\n2．加强宣传引导。（长期坚持）\n"


@pytest.mark.parametrize("script", ["s", "t"])
def test_a_bracket_with_a_time_limit_alone_is_doubted(script):
    text = _TIMED if script == "s" else opencc.OpenCC("s2t").convert(_TIMED)
    assert _doubts(text) == [
        ["item_without_units"],
        ["deadline_not_understood", "item_without_units"],
    ]
    (first, second) = parse_text(text).items
    assert [d.date.isoformat() for d in first.deadlines] == ["2024-12-31"]
    assert "长期坚持" in second.doubts[0].message  # read in Simplified


@pytest.mark.parametrize(
    "written",
    ["1．编制规划。（2024年修订）", "1．编制规划（2024年底前）。", "1．办好实事。（2023年版）"],
)
def test_a_dated_remark_or_a_bracket_inside_the_sentence_is_no_time_limit_bracket(written):
    assert _doubts(HEAD + written) == [[]]


def _read(written: str) -> list[tuple[str, str, bool]]:
    (item,) = parse_text(HEAD + "1．做好工作。" + written).items
    return [(u.as_written, u.role, u.known) for u in item.units]


_S2T = opencc.OpenCC("s2t")


@pytest.mark.parametrize("script", ["s", "t"])
@pytest.mark.parametrize(
    ("written", "expected"),
    [
        # 和 / 及 / 与 between two whole names: two units.
        (
            "（省人力资源和社会保障厅和省财政厅负责）",
            [("省人力资源和社会保障厅", "lead", True), ("省财政厅", "co", True)],
        ),
        (
            "（牵头单位：市住房和城乡建设局与市自然资源和规划局）",
            [("市住房和城乡建设局", "lead", False), ("市自然资源和规划局", "lead", False)],
        ),
        (
            "（责任单位：市委宣传部及各区政府）",
            [("市委宣传部", "lead", False), ("各区政府", "co", False)],
        ),
        (
            "（省民政厅、省财政厅与省教育厅负责）",
            [("省民政厅", "lead", True), ("省财政厅", "co", True), ("省教育厅", "co", True)],
        ),
        # Known to the registry, though not shaped like a local unit: split by what is known.
        (
            "（国家发展改革委和财政部负责）",
            [("国家发展改革委", "lead", True), ("财政部", "co", True)],
        ),
        # 和 inside one name: one unit.
        ("（责任单位：市人力资源和社会保障局）", [("市人力资源和社会保障局", "lead", False)]),
        ("（牵头单位：某某县文化和旅游局）", [("某某县文化和旅游局", "lead", False)]),
        ("（责任单位：省发展和改革委员会）", [("省发展和改革委员会", "lead", True)]),
        ("（责任单位：市财政局及所属单位）", [("市财政局及所属单位", "lead", False)]),
        # A name torn by a stray space is one unit when joined it is known.
        (
            "（责任单位：省发展 改革委、省财政厅）",
            [("省发展 改革委", "lead", True), ("省财政厅", "co", True)],
        ),
        ("（责任单位：省财政厅 省民政厅）", [("省财政厅", "lead", True), ("省民政厅", "co", True)]),
    ],
)
def test_conjunctions_and_stray_spaces_between_names(written, expected, script):
    if script == "t":
        written = _S2T.convert(written)
        expected = [(_S2T.convert(name), role, known) for name, role, known in expected]
    assert _read(written) == expected
