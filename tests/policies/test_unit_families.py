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
