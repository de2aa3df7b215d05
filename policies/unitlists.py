"""Responsible units of an item: brackets such as （牵头单位：X；配合单位：Y、Z）, （X牵头，Y配合）,
（X负责）; labelled lists outside brackets (牵头单位：X；责任单位：Y、Z。); sentences that give the
lead (X牵头，Y配合，年底前完成。)."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from policies.model import UnitRole
from policies.units import Registry

BRACKET_RE = re.compile(r"[（(]([^（）()\n]*)[）)]")
_CLAUSE_RE = re.compile(r"[，,﹐]")
_ELEMENT_RE = re.compile(r"、|会同|等和|等及|等以及|以及")
_LABEL = (
    r"(?:主要|具体)?(?:责任|牵头|主责|配合|参与|协办|协助|考核|牵头考核|配合考核)(?:单位|部门)[:：]"
)
_LABEL_RE = re.compile(rf"^{_LABEL}\s*")
# Sentences end at these marks, and before a label that only a space sets off (X 配合单位：Y).
_SENTENCE_RE = re.compile(rf"[。；;﹔\n]|\s+(?={_LABEL})")
_MARK_RE = re.compile(r"(?:分别|共同)?(牵头负责|牵头|负责落实|负责|落实|配合|参与|指导|协助|协办)$")
# A unit of a labelled list may carry its own mark in brackets: 责任单位：X（牵头）、Y。
_OWN_MARK_RE = re.compile(r"[（(](牵头|配合|参与|协助|协办)[）)]$")
_DUTY_RE = re.compile(r"(?:按职责分工|按照职责分工|按职责|分别)$")
_OPEN_RE = re.compile(r"等(?:有关|相关)?(?:部门|单位|部门和单位|地区)?$")
_GENERIC_RE = re.compile(r"^(?:各|其他)?(?:有关|相关)?(?:部门|单位|部门和单位|方面|地区)$")
_RULE_RE = re.compile(r"下同|后同|第一位|为牵头|不再(?:一一)?列出")
_SKIP_RE = re.compile(r"^\d+(?:\.\d+)?分$|\d{4}年|月底|年底|年内|长期|持续|前完成")
_DECLARE_PREFIX_RE = re.compile(
    r"^(?:以下|下列|此后|后续)(?:各项|任务|工作)?(?:均|都|皆)?(?:需要|需|由|须)?"
)
_DECLARE_SUFFIX_RE = re.compile(r"(?:负责)?(?:落实|负责|承担|实施)$")
_UNIT_SUFFIX_RE = re.compile(
    r"(?:部|委|局|署|办|厅|行|会|社|联|院|府|室|中心|公司|政府|集团|团中央|组|处|所|站|队|馆|台|党委|党组|机关|工委|监委)$"
)
_NOT_UNIT_RE = re.compile(r"[的向对将把要在不了第\d〔〕“”\"'（）()]")


@dataclass
class RawUnit:
    """A unit found in a bracket: its span in the line and the role it was given."""

    start: int
    end: int
    role: UnitRole


@dataclass
class UnitBracket:
    """The units of one bracket, whether the list is open (等), and units declared for later items."""

    units: list[RawUnit] = field(default_factory=list)
    open_ended: bool = False
    declared: list[RawUnit] = field(default_factory=list)


Span = tuple[int, int]


def _split(text: str, span: Span, pattern: re.Pattern[str]) -> list[Span]:
    out, pos = [], span[0]
    for m in pattern.finditer(text[span[0] : span[1]]):
        out.append((pos, span[0] + m.start()))
        pos = span[0] + m.end()
    out.append((pos, span[1]))
    return [_trim(text, s) for s in out if text[s[0] : s[1]].strip()]


def _trim(text: str, span: Span) -> Span:
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cut(text: str, span: Span, pattern: re.Pattern[str]) -> tuple[Span, str]:
    """Cut a match of `pattern` off the span's start (^) or end ($) and return what was cut."""
    m = pattern.search(text[span[0] : span[1]])
    if m is None or m.start() == m.end():
        return span, ""
    start, end = span[0] + m.start(), span[0] + m.end()
    if start == span[0]:
        return _trim(text, (end, span[1])), m.group(0)
    if end == span[1]:
        return _trim(text, (span[0], start)), m.group(0)
    return span, ""


def looks_like_unit(name: str, registry: Registry) -> bool:
    """Return whether a short phrase names a unit (known, or shaped like one)."""
    if registry.knows(name):
        return True
    return (
        2 <= len(name) <= 20
        and not _NOT_UNIT_RE.search(name)
        and bool(_UNIT_SUFFIX_RE.search(name))
    )


_CO_WORDS = ("配合", "参与", "指导", "协助", "协办")


def _hint(marker: str) -> UnitRole | None:
    if "牵头" in marker:
        return "lead"
    return "co" if any(w in marker for w in _CO_WORDS) else None


def _declared(text: str, sentence: Span, registry: Registry) -> list[Span]:
    """Return the units a "…落实，不再列出" sentence declares for all later items."""
    out = []
    for clause in _split(text, sentence, _CLAUSE_RE):
        if _RULE_RE.search(text[clause[0] : clause[1]]):
            continue
        span, _prefix = _cut(text, clause, _DECLARE_PREFIX_RE)
        span, _suffix = _cut(text, span, _DECLARE_SUFFIX_RE)
        if span[0] < span[1] and looks_like_unit(text[span[0] : span[1]], registry):
            out.append(span)
    return out


class _Reader:
    """Collects the units of one bracket; `valid` turns false at a phrase that is no unit."""

    def __init__(self, text: str, registry: Registry) -> None:
        self.text, self.registry = text, registry
        self.found: list[tuple[Span, UnitRole | None]] = []
        self.result = UnitBracket()
        self.marked = False
        self.valid = True

    def sentence(self, span: Span) -> None:
        if re.search(r"不再(?:一一)?列出", self.text[span[0] : span[1]]):
            self.marked = True
            for unit in _declared(self.text, span, self.registry):
                self.result.declared.append(RawUnit(unit[0], unit[1], "lead"))
            return
        span, label = _cut(self.text, span, _LABEL_RE)
        self.marked = self.marked or bool(label)
        for clause in _split(self.text, span, _CLAUSE_RE):
            self.clause(clause, label)

    def clause(self, span: Span, label: str) -> None:
        span, own_label = _cut(self.text, span, _LABEL_RE)
        label = own_label or label
        self.marked = self.marked or bool(own_label)
        phrase = self.text[span[0] : span[1]]
        if _RULE_RE.search(phrase):
            self.marked = True
            return
        if _SKIP_RE.search(phrase):
            return
        span, mark = _cut(self.text, span, _MARK_RE)
        span, _duty = _cut(self.text, span, _DUTY_RE)
        self.marked = self.marked or bool(mark)
        hint = _hint(mark) or _hint(label)
        if re.search(r"等和|等及|等以及", self.text[span[0] : span[1]]):
            self.result.open_ended = True
        for element in _split(self.text, span, _ELEMENT_RE):
            self.element(element, hint)

    def element(self, span: Span, hint: UnitRole | None) -> None:
        span, own = _cut(self.text, span, _OWN_MARK_RE)
        hint = _hint(own) or hint
        span, opened = _cut(self.text, span, _OPEN_RE)
        self.result.open_ended = self.result.open_ended or bool(opened)
        name = self.text[span[0] : span[1]]
        if not name:
            return
        if _GENERIC_RE.match(name):
            self.result.open_ended = True
        elif looks_like_unit(name, self.registry):
            self.found.append((span, hint))
        else:
            self.valid = False

    def finish(self) -> UnitBracket | None:
        known = all(self.registry.knows(self.text[s:e]) for (s, e), _ in self.found)
        if not self.valid or not (self.marked or (self.found and known)):
            return None
        if not (self.found or self.result.declared or self.result.open_ended):
            return None
        has_lead = any(hint == "lead" for _, hint in self.found)
        for (start, end), hint in self.found:
            role: UnitRole = hint or ("co" if has_lead else "lead")
            has_lead = has_lead or role == "lead"
            self.result.units.append(RawUnit(start, end, role))
        for unit in self.result.declared:
            same = [
                u
                for u in self.result.units
                if self.text[u.start : u.end] == self.text[unit.start : unit.end]
            ]
            unit.role = same[0].role if same else "lead"
        return self.result


def read_bracket(text: str, span: Span, registry: Registry) -> UnitBracket | None:
    """Read the content `span` of a bracket in `text` (Simplified); None if it lists no units."""
    reader = _Reader(text, registry)
    for sentence in _split(text, span, _SENTENCE_RE):
        reader.sentence(sentence)
        if not reader.valid:
            return None
    return reader.finish()


# A labelled list outside brackets runs from its label to the end of its sentence or line, and
# on through the labelled lists right after it (牵头单位：X。\n配合单位：Y), read as one.
_LIST_LABEL_RE = re.compile(_LABEL)
_LIST_END_RE = re.compile(r"[。\n]")


def _list_end(text: str, pos: int) -> int:
    found = _LIST_END_RE.search(text, pos)
    return found.start() if found else len(text)


def _after_gap(text: str, pos: int) -> int:
    while pos < len(text) and (text[pos] == "。" or text[pos].isspace()):
        pos += 1
    return pos


def _labelled_lists(text: str, brackets: list[Span]) -> list[Span]:
    """Return the spans of the labelled unit lists that stand outside every bracket."""
    out: list[Span] = []
    starts = [start for start, _ in brackets]  # in order and apart, as finditer found them
    pos = 0
    while (m := _LIST_LABEL_RE.search(text, pos)) is not None:
        i = bisect_right(starts, m.start()) - 1
        if i >= 0 and m.start() < brackets[i][1]:
            pos = brackets[i][1]
            continue
        start, end = m.start(), _list_end(text, m.end())
        while (more := _LIST_LABEL_RE.match(text, _after_gap(text, end))) is not None:
            end = _list_end(text, more.end())
        out.append((start, end))
        pos = end
    return out


# A sentence outside brackets that names a lead: 市住建局牵头，市发改委配合，年底前完成。
_LED_RE = re.compile(r"牵头(?:负责)?(?=[，,。；;﹔\n]|$)")
_PLAIN_SENTENCE_RE = re.compile(r"[^。；;﹔\n]+")


def _led_sentences(text: str, taken: list[Span]) -> list[Span]:
    """Return the sentences outside `taken` (brackets, labelled lists) that give a unit the lead."""
    overlaps = _overlap_test(taken)
    out: list[Span] = []
    for m in _PLAIN_SENTENCE_RE.finditer(text):
        if not overlaps(m.span()) and _LED_RE.search(text, *m.span()):
            out.append(m.span())
    return out


def _overlap_test(spans: list[Span]) -> Callable[[Span], bool]:
    """Return a test of whether a span overlaps any of `spans`, in log time (spans may nest)."""
    ordered = sorted(spans)
    starts = [start for start, _ in ordered]
    reach = list(accumulate((end for _, end in ordered), max))

    def overlaps(span: Span) -> bool:
        i = bisect_left(starts, span[1])
        return i > 0 and reach[i - 1] > span[0]

    return overlaps


def read_brackets(text: str, registry: Registry) -> list[UnitBracket]:
    """Return the unit brackets, labelled lists and led sentences of a paragraph (Simplified), in order.

    Each is read the same way, and only kept when every phrase in it names a unit.
    """
    brackets = [m.span() for m in BRACKET_RE.finditer(text)]
    lists = _labelled_lists(text, brackets)
    spans = [(start + 1, end - 1) for start, end in brackets] + lists
    spans += _led_sentences(text, brackets + lists)
    out = []
    for span in sorted(spans):
        bracket = read_bracket(text, span, registry)
        if bracket is not None:
            out.append(bracket)
    return out
