"""Where an item names its responsible units: brackets of every kind (（）() [] 〔〕 【】, names inside
may hold brackets of their own), labelled lists outside brackets (牵头单位：X；责任单位：Y、Z on the
item's line or the lines after it) and sentences that give the lead (X牵头，Y配合，年底前完成。).

Each list is read by `policies.unitnames.ListReader`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from itertools import accumulate

from policies.clauses import CLOSERS, OPENERS, Span
from policies.unitnames import TIME_RE, UNIT_LABEL, ListReader, Names, RawUnit, UnitBracket

__all__ = ["RawUnit", "UnitBracket", "bracket_spans", "read_bracket", "read_brackets"]


def bracket_spans(text: str) -> list[Span]:
    """Return the spans of the outermost brackets of `text`, closers included, in linear time.

    Brackets nest (县发改局（粮食局）); a bracket left open at a line end is no bracket, and a closer
    without its opener is text.
    """
    out: list[Span] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char in OPENERS:
            if depth == 0:
                start = i
            depth += 1
        elif char in CLOSERS and depth:
            depth -= 1
            if depth == 0:
                out.append((start, i + 1))
        elif char == "\n":
            depth = 0
    return out


def read_bracket(
    text: str, span: Span, registry: Names, *, closing: bool = False
) -> UnitBracket | None:
    """Read the list in `span` of `text` (Simplified); None if it names no unit.

    `closing`: the list is a bracket placed where unit lists stand, after a full sentence at the
    end of a paragraph.
    """
    return ListReader(text, registry, closing=closing).read(span)


_SENTENCE_END = "。；;！!"
_TRAILING_RE = re.compile(r"[。；;\s]*(?:\n|$)")


def _closing(text: str, bracket: Span) -> bool:
    """Return whether a bracket follows a full sentence and ends its paragraph."""
    start, end = bracket
    return start > 0 and text[start - 1] in _SENTENCE_END and bool(_TRAILING_RE.match(text, end))


# A labelled list outside brackets runs from its label to the end of its sentence or line, and
# on through the labelled lists right after it (牵头单位：X。\n配合单位：Y), read as one. The label
# opens a line or a sentence: "要明确责任单位：…" in running text is no list.
_LIST_LABEL_RE = re.compile(
    rf"(?:^|(?<=[\n。；;，,）)\]〕】\s])){UNIT_LABEL}\s*[:：]|(?:^|(?<=\n)){UNIT_LABEL}[ \t\u3000]+(?=\S)"
    rf"|[【\[〔]{UNIT_LABEL}[】\]〕]"
)
_LIST_END_RE = re.compile(r"[。\n]")
# The lines after a list that go on with it: more unit labels, or fields (完成时限：…) between them.
_MORE_RE = re.compile(rf"{UNIT_LABEL}\s*[:：]|[\u4e00-\u9fff]{{2,8}}\s*[:：]")


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
    starts = [start for start, _ in brackets]  # in order and apart
    pos = 0
    while (m := _LIST_LABEL_RE.search(text, pos)) is not None:
        i = bisect_right(starts, m.start()) - 1
        if i >= 0 and m.start() < brackets[i][1] and m.start() != brackets[i][0]:
            pos = brackets[i][1]
            continue
        start, end = m.start(), _list_end(text, m.end())
        while (more := _MORE_RE.match(text, _after_gap(text, end))) is not None:
            end = _list_end(text, more.end())
        out.append((start, end))
        pos = end
    return out


# A sentence outside brackets that closes its paragraph and names a lead: X牵头，Y配合，年底前完成。
_LED_RE = re.compile(r"牵头(?:负责)?(?=[，,。；;﹔\n]|$)")
_PLAIN_SENTENCE_RE = re.compile(r"[^。；;﹔\n]+")
_PARAGRAPH_END_RE = re.compile(r"[。；;﹔\s]*(?:\n|$)")


def _led_sentences(text: str, taken: list[Span]) -> list[Span]:
    """Return the last sentences of paragraphs, outside `taken`, that give a unit the lead."""
    overlaps = _overlap_test(taken)
    out: list[Span] = []
    for m in _PLAIN_SENTENCE_RE.finditer(text):
        if (
            not overlaps(m.span())
            and _LED_RE.search(text, *m.span())
            and _PARAGRAPH_END_RE.match(text, m.end())
        ):
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


def read_brackets(text: str, registry: Names) -> list[UnitBracket]:
    """Return the unit lists of an item's text (Simplified), in order: brackets, labelled lists
    and led sentences, each kept when it names units."""
    brackets = bracket_spans(text)
    lists = _labelled_lists(text, brackets)
    spans = [((start + 1, end - 1), _closing(text, (start, end))) for start, end in brackets]
    spans += [(span, False) for span in lists + _led_sentences(text, brackets + lists)]
    out = []
    for span, closing in sorted(spans):
        bracket = read_bracket(text, span, registry, closing=closing)
        if bracket is None and closing:
            bracket = _timed_only(text, span)
        if bracket is not None:
            out.append(bracket)
    return out


_PART_RE = re.compile(r"[，,；;、\s]+")
_TIME_PART_MAX = 12  # 2024年12月底前完成, 长期坚持: a time phrase is short; longer is a sentence
_EDITION_RE = re.compile("修订|修正|印发|发布|颁布|施行|版")  # （2024年修订） dates the text itself


def _timed_only(text: str, span: Span) -> UnitBracket | None:
    """Read a bracket closing the item that holds time phrases alone (（2024年底前）, （长期坚持）).

    It stands where the item's unit list would: the item names its time limit and no unit.
    """
    parts = [p for p in _PART_RE.split(text[span[0] : span[1]]) if p]
    if _EDITION_RE.search(text, *span):
        return None
    if parts and all(TIME_RE.search(p) and len(p) <= _TIME_PART_MAX for p in parts):
        return UnitBracket(phrases=["，".join(parts)], timed_only=True)
    return None
