"""Reading one unit list: its labels and fields, the names it gives, their roles.

A labelled list (牵头单位：X，配合单位：Y) names units whatever they are called; an unlabelled one
(X牵头，Y配合 / X负责 / X、Y) only when role words mark it, when every name is known (to the
registry or read as a unit elsewhere in the document), or when it closes a paragraph after a full
sentence (……。（X，Y）) and every part is shaped like a name.
Fields that are not units (适用范围：…, 完成时限：…, 牵头领导：…, 分值：…) and the deadline, progress
and score phrases sharing the bracket are kept apart from the names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from policies.clauses import Span, cut, depth_split, merge_levels, trim
from policies.model import UnitRole
from policies.unitjoins import joined_at_spaces, split_conjoined


class Names(Protocol):
    """What the reader asks of known names: the registry, or the registry and the document."""

    def knows(self, as_written: str) -> bool:
        """Return whether the name is known."""
        ...


UNIT_LABEL = (
    r"(?:主要|具体)?(?:牵头考核|配合考核|牵头责任|协同责任|主要责任|数据提供|"
    r"责任|牵头|主责|主办|配合|参与|协办|协助|协同|考核|负责|承办)(?:单位|部门|主体|处室|科室)"
)
_BRACKETED_LABEL_RE = re.compile(rf"[【\[〔]{UNIT_LABEL}[】\]〕]")
# A label ends at a colon or a space, or is set in brackets of its own: 【牵头单位】X.
_UNIT_LABEL_RE = re.compile(
    rf"{UNIT_LABEL}(?:\s*[:：]\s*|\s+(?=\S))|[【\[〔]{UNIT_LABEL}[】\]〕]\s*[:：]?\s*"
)
_FIELD_LABEL_RE = re.compile(r"([\u4e00-\u9fff]{2,8})\s*[:：]\s*")
_CO_WORD_RE = re.compile("配合|参与|协办|协助|协同|数据提供|指导")
_LEAD_WORD_RE = re.compile("牵头|主责|主办")

_SENTENCE_RE = re.compile(rf"[。；;﹔\n]|\s+(?={UNIT_LABEL})")
_CLAUSE_RE = re.compile(r"[，,﹐]")
# Names are parted by 、 and also by spaces or slashes in lists copied from tables.
_ELEMENT_RE = re.compile(r"、|等和|等及|等以及|以及|[ \t\u3000/／]+")
_WITH_RE = re.compile("会同")  # X会同Y负责: X leads, Y joins
_MARK_RE = re.compile(
    r"(?:分别|共同)?(?:牵头负责|负责牵头|牵头|负责落实|负责|落实|配合|参与|指导|协助|协办"
    r"|为(?:牵头|责任|主责|配合|参与|协办)(?:单位|部门))$"
)
_BY_RE = re.compile(r"^(?:由|请)")
_OWN_MARK_RE = re.compile(r"[（(](牵头|配合|参与|协助|协办)[）)]$")
_DUTY_RE = re.compile(r"(?:按职责分工|按照职责分工|按职责|分别)$")
_OPEN_RE = re.compile(
    r"等(?:\d+|[一二三四五六七八九十]+)?个?(?:有关|相关)?(?:部门|单位|部门和单位|地区)?$"
)
_GENERIC_RE = re.compile(r"^(?:其他|其余)?(?:有关|相关)(?:部门|单位|部门和单位|方面|地区)$")
# 各有关单位, 县直各部门, 市直有关部门, 全县各乡镇, …成员单位: units that stand for many.
COLLECTIVE_RE = re.compile(
    r"^(?:各|其他|其余|有关|相关|全省|全市|全县|全区)|^[^、]{0,4}各|(?:有关|相关)(?:部门|单位)$|成员单位$"
)
# A standing remark names no unit: 下同, 以下各项均需…, a rule for the whole document.
REMARK_RE = re.compile(r"下同|后同|第一(?:位|个)|不再(?:一一)?列出|^(?:以下|以上|上述)")
FIRST_LEADS_RE = re.compile(r"第一(?:位|个)[^。；，,]{0,8}(?:为|是)牵头")
_DECLARED_RE = re.compile(r"不再(?:一一)?列出")
_DECLARE_PREFIX_RE = re.compile(
    r"^(?:以下|下列|此后|后续)(?:各项|任务|工作)?(?:均|都|皆)?(?:需要|需|由|须)?"
)
_DECLARE_SUFFIX_RE = re.compile(r"(?:负责)?(?:落实|负责|承担|实施)$")
_SCORE_RE = re.compile(r"^\d+(?:\.\d+)?分$")
TIME_RE = re.compile(
    r"\d{4}年|\d{1,2}月|[一二三四]季度|年底|年内|年末|月底|前完成|完成$|长期|持续|序时|成效|到位"
)
# Running text is no name: a sentence (。), a clause that opens with a function word, 的.
_SENTENCE_WORDS_RE = re.compile(
    r"[。]|的|要|应当|必须|简称|下称|详见|参见"
    r"|^(?:由|在|对|按|将|把|以|如|其|并|经|与|向|从|为|是|可|应|须|需|请|包括|含|除|即|见)"
)
# Without a role word, figures and quotes too say running text (（2024年修订）, （“一窗”）).
_UNMARKED_WORDS_RE = re.compile(r"[“”\"\d]")


def label_role(label: str) -> UnitRole | None:
    """Return the role a label or role word gives: lead, co, or None when it says neither."""
    if not label:
        return None
    if _LEAD_WORD_RE.search(label):
        return "lead"
    return "co" if _CO_WORD_RE.search(label) else None


@dataclass
class RawUnit:
    """A unit found in a list: its span in the item text, its role, whether the role was guessed."""

    start: int
    end: int
    role: UnitRole
    guessed: bool = False
    collective: bool = False


@dataclass
class UnitBracket:
    """What one list gives: units, open (等), units declared onward, time phrases and scopes."""

    units: list[RawUnit] = field(default_factory=list)
    open_ended: bool = False
    declared: list[RawUnit] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    timed_only: bool = False  # it closes the item where units stand, with time phrases alone


@dataclass
class _Field:
    kind: str  # "unit", "scope", "time" or "other"
    role: UnitRole | None = None
    started: bool = False  # a time field already gave a phrase: its later clauses join it


@dataclass
class _Found:
    span: Span
    hint: UnitRole | None
    collective: bool
    tentative: bool  # unlabelled and unmarked: a name only in a list without labels


class ListReader:
    """Reads one list; `valid` turns false at running text in a list without labels."""

    def __init__(self, text: str, registry: Names, *, closing: bool = False) -> None:
        self.text, self.registry, self.closing = text, registry, closing
        self.found: list[_Found] = []
        self.result = UnitBracket()
        self.marked = self.labelled = self.in_remark = False
        self.valid = self.tentative_valid = True
        self.current: _Field | None = None

    def read(self, span: Span) -> UnitBracket | None:
        """Read the list in `span` of the text; None when it names no unit."""
        for sentence in depth_split(self.text, span, _SENTENCE_RE):
            # A list goes on after ；(牵头单位：X；Y、Z) until a label or a phrase ends it.
            self.in_remark = False
            self._sentence(sentence)
            if not self.valid:
                return None
        return self._finish()

    def _sentence(self, span: Span) -> None:
        if _DECLARED_RE.search(self.text, *span):
            self.marked = True
            for unit in self._declared(span):
                self.result.declared.append(RawUnit(unit[0], unit[1], "lead"))
            return
        cuts = [m.start() for m in _BRACKETED_LABEL_RE.finditer(self.text, *span)]
        for part in zip([span[0], *cuts], [*cuts, span[1]], strict=True):
            for clause in depth_split(self.text, part, _CLAUSE_RE):
                self._clause(clause)

    def _clause(self, span: Span) -> None:
        phrase = self.text[span[0] : span[1]]
        if (m := _UNIT_LABEL_RE.match(self.text, *span)) is not None:
            self.marked = self.labelled = True
            self.in_remark = False
            self.current = _Field("unit", label_role(m.group(0)))
            self._names(trim(self.text, (m.end(), span[1])), self.current.role)
        elif self.in_remark:
            return  # the rest of a standing remark, up to the next label
        elif REMARK_RE.search(phrase):
            self.marked, self.current, self.in_remark = True, None, True
        elif (m := _FIELD_LABEL_RE.match(self.text, *span)) is not None:
            label = m.group(1)
            kind = (
                "scope"
                if "范围" in label
                else "time"
                if re.search("时|期|完成", label)
                else "other"
            )
            self.current = _Field(kind)
            self._value(trim(self.text, (m.end(), span[1])))
        elif self.current is not None and self.current.kind != "unit":
            self._value(span)
        elif _SCORE_RE.match(phrase) or TIME_RE.search(phrase):
            self.result.phrases.extend([phrase] if TIME_RE.search(phrase) else [])
        elif self.current is not None:
            self._names(span, self.current.role)
        else:
            self._names(span, None, strict=True)

    def _value(self, span: Span) -> None:
        assert self.current is not None
        value = self.text[span[0] : span[1]]
        if value and self.current.kind == "scope":
            self.result.scopes.append(value)
        elif value and self.current.kind == "time" and self.current.started:
            self.result.phrases[-1] += "，" + value
        elif value and self.current.kind == "time":
            self.result.phrases.append(value)
            self.current.started = True

    def _names(self, span: Span, hint: UnitRole | None, *, strict: bool = False) -> None:
        span, mark = cut(self.text, span, _MARK_RE)
        span, _duty = cut(self.text, span, _DUTY_RE)
        self.marked = self.marked or bool(mark)
        hint = label_role(mark) or hint
        tentative = strict and not mark
        if mark:
            span, _by = cut(self.text, span, _BY_RE)
        if re.search(r"等和|等及|等以及", self.text[span[0] : span[1]]):
            self.result.open_ended = True
        first, *joined = depth_split(self.text, span, _WITH_RE) or [span]
        for part, part_hint in [(first, hint), *((j, "co") for j in joined)]:
            elements = depth_split(self.text, part, _ELEMENT_RE)
            elements = joined_at_spaces(self.text, elements, self.registry)
            for element in merge_levels(self.text, elements):
                for name in split_conjoined(self.text, element, self.registry):
                    self._element(name, part_hint, strict, tentative)

    def _element(self, span: Span, hint: UnitRole | None, strict: bool, tentative: bool) -> None:
        span, own = cut(self.text, span, _OWN_MARK_RE)
        hint = label_role(own) or hint
        span, opened = cut(self.text, span, _OPEN_RE)
        self.result.open_ended = self.result.open_ended or bool(opened)
        name = self.text[span[0] : span[1]]
        if not name:
            return
        if _GENERIC_RE.match(name) and strict:
            self.result.open_ended = True
        elif self.registry.knows(name) or _names_a_unit(name, strict, tentative):
            self.found.append(_Found(span, hint, bool(COLLECTIVE_RE.search(name)), tentative))
        elif tentative:
            self.tentative_valid = False
        elif strict:
            self.valid = False

    def _declared(self, sentence: Span) -> list[Span]:
        """Return the units a "…落实，不再列出" sentence declares for all later items."""
        out = []
        for clause in depth_split(self.text, sentence, _CLAUSE_RE):
            span, prefix = cut(self.text, clause, _DECLARE_PREFIX_RE)
            if REMARK_RE.search(self.text[clause[0] : clause[1]]) and not prefix:
                continue
            span, _suffix = cut(self.text, span, _DECLARE_SUFFIX_RE)
            name = self.text[span[0] : span[1]]
            if name and _names_a_unit(name, True, True) and not _DECLARED_RE.search(name):
                out.append(span)
        return out

    def _finish(self) -> UnitBracket | None:
        # Unmarked names count only in a list without labels, and only if each is a name.
        if self.labelled or not self.tentative_valid:
            self.found = [f for f in self.found if not f.tentative]
        names = [self.text[f.span[0] : f.span[1]] for f in self.found]
        known = names and all(self.registry.knows(n) for n in names)
        placed = self.closing and names and all(len(n) >= _PLACED_MIN for n in names)
        if not (self.marked or known or placed):
            return None
        if not (self.found or self.result.declared or self.result.open_ended):
            return None
        self.result.units = _roles(self.found)
        for unit in self.result.declared:
            written = self.text[unit.start : unit.end]
            same = [u for u in self.result.units if self.text[u.start : u.end] == written]
            unit.role = same[0].role if same else "lead"
        return self.result


_PLACED_MIN = 3  # a list placed like a unit list has names of three characters at least (不是“略”)


def _names_a_unit(name: str, strict: bool, unmarked: bool) -> bool:
    if "\n" in name:  # a name never runs over a line end (its span would not hold it as written)
        return False
    if unmarked and _UNMARKED_WORDS_RE.search(name):
        return False
    if strict:
        return len(name) <= 25 and not _SENTENCE_WORDS_RE.search(name)
    return len(name) <= 40 and "。" not in name


def _roles(found: list[_Found]) -> list[RawUnit]:
    """Give each name its role: marked ones keep theirs; else the first leads (a guess if several)."""
    has_lead = any(f.hint == "lead" for f in found)
    neutral = sum(1 for f in found if f.hint is None)
    out = []
    for f in found:
        role: UnitRole = f.hint or ("co" if has_lead else "lead")
        guessed = f.hint is None and not has_lead and neutral > 1
        has_lead = has_lead or role == "lead"
        out.append(RawUnit(f.span[0], f.span[1], role, guessed, f.collective))
    return out
