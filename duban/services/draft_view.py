"""Where a draft's readings stand in its text: highlight marks for units, deadlines and item titles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from duban.services.draft_edit import item_ref


@dataclass(frozen=True)
class Mark:
    """A highlighted stretch of the source text: `kind` is item, unit or deadline."""

    start: int
    end: int
    kind: str
    ref: str
    title: str
    doubt: bool = False


@dataclass(frozen=True)
class Segment:
    """A piece of the source text, highlighted when `mark` is set."""

    text: str
    mark: Mark | None = None


def _span(value: Any, size: int) -> tuple[int, int] | None:
    if not value:
        return None
    start, end = int(value[0]), int(value[1])
    return (start, end) if 0 <= start < end <= size else None


def _find(text: str, words: str, start: int, end: int) -> tuple[int, int] | None:
    """Locate words in text[start:end] when the parser gave no span (it cannot always)."""
    if not words:
        return None
    at = text.find(words, start, end)
    return (at, at + len(words)) if at >= 0 else None


def _item_region(text: str, item: dict[str, Any], cursor: int) -> tuple[int, int]:
    span = _span(item.get("span"), len(text))
    if span is not None:
        return span
    title_at = _find(text, str(item["title"])[:30], cursor, len(text))
    start = title_at[0] if title_at else cursor
    body = str(item.get("body", ""))
    tail = _find(text, body[-30:], start, len(text)) if body else None
    return (start, tail[1] if tail else start + len(str(item["title"])))


def _item_marks(
    text: str, draft_id: int, item: dict[str, Any], region: tuple[int, int]
) -> list[Mark]:
    ref = item_ref(draft_id, item)
    start, end = region
    title = _find(text, str(item["title"]), start, end)
    marks = [Mark(*title, "item", ref, str(item["title"]))] if title else []
    for unit in item.get("units", []):
        found = _span(unit.get("span"), len(text)) or _find(
            text, str(unit.get("as_written", "")), start, end
        )
        if found:
            doubt = any(not d.get("accepted") for d in unit.get("doubts", []))
            label = f"{unit['name']}（{'牵头' if unit['role'] == 'lead' else '配合'}）"
            marks.append(Mark(*found, "unit", ref, label, doubt))
    for deadline in item.get("deadlines", []):
        found = _span(deadline.get("span"), len(text)) or _find(
            text, str(deadline["text"]), start, end
        )
        if found:
            marks.append(Mark(*found, "deadline", ref, f"{deadline['text']}：{deadline['date']}"))
    for target in item.get("targets", []):
        found = _span(target.get("span"), len(text))
        if found:
            marks.append(Mark(*found, "target", ref, f"指标：{target['text']}"))
    return marks


def draft_marks(text: str, draft_id: int, data: dict[str, Any]) -> list[Mark]:
    """Return every reading's place in the text, in order, without overlaps (first one wins)."""
    marks: list[Mark] = []
    cursor = 0
    for item in data["items"]:
        region = _item_region(text, item, cursor)
        marks += _item_marks(text, draft_id, item, region)
        cursor = max(cursor, region[0])
    kept: list[Mark] = []
    for mark in sorted(marks, key=lambda m: (m.start, -m.end)):
        if not kept or mark.start >= kept[-1].end:
            kept.append(mark)
    return kept


def segments(text: str, marks: list[Mark]) -> list[Segment]:
    """Split the text at the marks' boundaries (the template escapes every piece)."""
    out: list[Segment] = []
    at = 0
    for mark in marks:
        if mark.start > at:
            out.append(Segment(text[at : mark.start]))
        out.append(Segment(text[mark.start : mark.end], mark))
        at = mark.end
    if at < len(text):
        out.append(Segment(text[at:]))
    return out
