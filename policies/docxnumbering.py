"""Word's automatic list numbers written out: a list paragraph gets its marker (一、 (二) 3.) as text.

Documents typed in Word often number their items with a list instead of typing the numbers, and
the parser finds items by their markers. Counters follow Word: one per abstract list, a level
restarting when a higher level advances unless `w:lvlRestart` is 0, `w:startOverride` restarting
a list instance. Bullets give no marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DIGITS = "零一二三四五六七八九"
_LEGAL = "零壹贰叁肆伍陆柒捌玖"
_STEMS = "甲乙丙丁戊己庚辛壬癸"
_PLACEHOLDER_RE = re.compile(r"%([1-9])")


@dataclass(frozen=True)
class _Level:
    fmt: str
    text: str
    start: int
    restarts: bool


def chinese_numeral(n: int, digits: str = _DIGITS) -> str:
    """Return 1-99 as Chinese numerals (十, 十一, 二十); larger numbers in Arabic digits."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else digits[tens] + "十")
    return head + (digits[ones] if ones else "")


def _format(n: int, fmt: str) -> str:
    if fmt.startswith(("chineseCounting", "taiwaneseCounting", "japaneseCounting")):
        return chinese_numeral(n)
    if fmt == "chineseLegalSimplified":
        return chinese_numeral(n, _LEGAL)
    if fmt == "ideographTraditional" and 0 < n <= 10:
        return _STEMS[n - 1]
    if fmt in ("upperLetter", "lowerLetter") and 0 < n <= 26:
        letter = chr(ord("A") + n - 1)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt == "decimalFullWidth":
        return str(n).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    if fmt.startswith("decimalEnclosedCircle") and 0 < n <= 20:
        return chr(0x2460 + n - 1)
    if fmt in ("upperRoman", "lowerRoman") and 0 < n < 40:
        roman = (
            "X" * (n // 10) + ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"][n % 10]
        )
        return roman if fmt == "upperRoman" else roman.lower()
    return str(n)


class ListNumbers:
    """The list definitions of one document and the running counters of its lists."""

    def __init__(self, document: Any) -> None:
        self._abstract: dict[str, str] = {}  # numId -> abstractNumId
        self._overrides: dict[str, dict[int, int]] = {}  # numId -> level -> start
        self._levels: dict[str, dict[int, _Level]] = {}  # abstractNumId -> levels
        self._counters: dict[str, list[int | None]] = {}
        self._seen: set[str] = set()
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return  # no numbering part: nothing is numbered
        for abstract in root.iter(f"{W}abstractNum"):
            self._levels[abstract.get(f"{W}abstractNumId")] = _levels_of(abstract)
        for num in root.iter(f"{W}num"):
            num_id = num.get(f"{W}numId")
            ref = num.find(f"{W}abstractNumId")
            self._abstract[num_id] = "" if ref is None else ref.get(f"{W}val", "")
            self._overrides[num_id] = {
                int(o.get(f"{W}ilvl", "0")): int(s.get(f"{W}val", "1"))
                for o in num.iter(f"{W}lvlOverride")
                for s in o.iter(f"{W}startOverride")
            }

    def marker(self, paragraph: Any) -> str:
        """Return the list marker Word shows before this paragraph ("" when not numbered)."""
        num_id, ilvl = _num_pr(paragraph)
        abstract = self._abstract.get(num_id or "")
        levels = self._levels.get(abstract or "", {})
        if num_id is None or abstract is None or ilvl not in levels or not 0 <= ilvl < 9:
            return ""
        counters = self._advance(num_id, abstract, levels, ilvl)
        level = levels[ilvl]
        if level.fmt in ("bullet", "none"):
            return ""

        def value(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            shown = levels.get(k, level)
            n = counters[k] if counters[k] is not None else shown.start
            return _format(n or 0, shown.fmt)

        text = _PLACEHOLDER_RE.sub(value, level.text)
        return text + " " if text[-1:].isascii() and text[-1:] not in "()" else text

    def _advance(
        self, num_id: str, abstract: str, levels: dict[int, _Level], ilvl: int
    ) -> list[int | None]:
        """Count this paragraph at its level; restart the deeper levels that restart."""
        counters = self._counters.setdefault(abstract, [None] * 9)
        if num_id not in self._seen:
            self._seen.add(num_id)
            for index, start in self._overrides.get(num_id, {}).items():
                if 0 <= index < 9:
                    counters[index] = start - 1
        current = counters[ilvl]
        counters[ilvl] = levels[ilvl].start if current is None else current + 1
        for deeper in range(ilvl + 1, 9):
            if deeper in levels and levels[deeper].restarts:
                counters[deeper] = None
        return counters


def _levels_of(abstract: Any) -> dict[int, _Level]:
    levels = {}
    for lvl in abstract.iter(f"{W}lvl"):
        fmt, text, start, restart = (
            lvl.find(f"{W}{tag}") for tag in ("numFmt", "lvlText", "start", "lvlRestart")
        )
        levels[int(lvl.get(f"{W}ilvl", "0"))] = _Level(
            fmt="decimal" if fmt is None else fmt.get(f"{W}val", "decimal"),
            text="" if text is None else text.get(f"{W}val", ""),
            start=1 if start is None else int(start.get(f"{W}val", "1")),
            restarts=restart is None or restart.get(f"{W}val") != "0",
        )
    return levels


def _num_pr(paragraph: Any) -> tuple[str | None, int]:
    """Return the paragraph's (numId, level): its own numPr, else its style's (and their bases)."""
    candidates = [paragraph._p.pPr]
    style = paragraph.style
    for _ in range(5):
        if style is None:
            break
        candidates.append(style.element.pPr)
        style = style.base_style
    for ppr in candidates:
        num_pr = None if ppr is None else ppr.find(f"{W}numPr")
        if num_pr is None:
            continue
        num_id, ilvl = num_pr.find(f"{W}numId"), num_pr.find(f"{W}ilvl")
        value = None if num_id is None else num_id.get(f"{W}val")
        level = 0 if ilvl is None else int(ilvl.get(f"{W}val", "0"))
        return (None if value in (None, "0") else value), level
    return None, 0
