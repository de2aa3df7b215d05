"""Parse a policy text into a ParsedPolicy: title, date, sections, items, units, deadlines, attachments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from policies import doubts
from policies.attachments import read_attachments, split_attachments
from policies.deadlines import find_deadlines, transition_years
from policies.decode import read_policy_file
from policies.itemunits import UnitReader, lead_the_first
from policies.lines import DATE_LINE_RE, Line, split_lines
from policies.model import Deadline, Doubt, Item, ParsedPolicy, PolicyParseError, Unit
from policies.structure import RawItem, blocks_of, heading, outline
from policies.units import load_registry

_DOC_NUMBER_RE = re.compile(r"〔(\d{4})〕\s*\d+\s*号")
NO_ITEMS = "未找到编号条目 / no numbered items found in the document"


def parse_file(path: str | Path, *, max_bytes: int = 10 * 1024 * 1024) -> ParsedPolicy:
    """Parse a policy file (UTF-8 with or without BOM, or GB18030); raise PolicyParseError."""
    return parse_text(read_policy_file(path, max_bytes=max_bytes))


def parse_text(text: str) -> ParsedPolicy:
    """Parse a policy text in Simplified or Traditional script; raise PolicyParseError."""
    try:
        return _parse(text)
    except PolicyParseError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as exc:
        raise PolicyParseError(f"无法解析文档 / cannot parse the document: {exc}") from exc


def _parse(text: str) -> ParsedPolicy:
    registry = load_registry()
    lines = split_lines(text)
    body, attachment_lines = split_attachments(lines)
    sections, raw_items = outline(blocks_of(body), registry)
    if not raw_items:
        raise PolicyParseError(NO_ITEMS)
    issued = issue_date(lines)
    year = issued.year if issued else _year_of(lines)
    folded = "\n".join(ln.text for ln in body)
    transition = transition_years(folded)
    reader = UnitReader(registry, body, [raw.text for raw in raw_items])
    context = _Context(reader, year, transition)
    items = _items(raw_items, context)
    deadlines = find_deadlines(folded, year=year, transition=transition)
    return ParsedPolicy(
        title=title_of(lines),
        issued=issued,
        sections=tuple(sections),
        items=tuple(items),
        attachments=tuple(read_attachments(attachment_lines)),
        horizon=_horizon(items, deadlines),
    )


def _horizon(items: list[Item], deadlines: list[Deadline]) -> date | None:
    """Return the latest deadline of the tasks; of the whole text when no task has one.

    A vision in the general requirements (到2035年) is context, not a date anyone reports to.
    """
    task_dates = [d.date for item in items if item.is_task for d in item.deadlines]
    return max(task_dates, default=None) or max((d.date for d in deadlines), default=None)


def title_of(lines: list[Line]) -> str:
    """Return the title: the short leading lines before the date, document number or addressee."""
    parts: list[str] = []
    for line in lines:
        text = line.text
        if line.is_date or line.marker or _DOC_NUMBER_RE.search(text) or text.endswith(("：", ":")):
            break
        if len(text) > 60 or "。" in text or (parts and len("".join(parts)) + len(text) > 80):
            break
        parts.append(text)
    return "".join(parts) or (lines[0].text[:60] if lines else "")


def issue_date(lines: list[Line]) -> date | None:
    """Return the issue date: the first line that is only a date, (2021年4月2日) or 2018年12月6日."""
    for line in lines:
        m = DATE_LINE_RE.match(line.text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                continue
    return None


def _year_of(lines: list[Line]) -> int | None:
    for line in lines[:10]:
        m = _DOC_NUMBER_RE.search(line.text)
        if m:
            return int(m[1])
    return None


@dataclass
class _Context:
    """What reading the items needs from the whole document."""

    reader: UnitReader
    year: int | None
    transition: int | None


def _items(raw_items: list[RawItem], context: _Context) -> list[Item]:
    """Build the items: their units (with units declared once for the rest of a section) and deadlines."""
    out: list[Item] = []
    carried: list[Unit] = []
    section = None
    for ordinal, raw in enumerate(raw_items, start=1):
        if raw.section != section:
            carried, section = [], raw.section
        found = context.reader.item(raw.text, raw.raw)
        units = found.units
        for unit in carried:
            if all(u.name != unit.name for u in units):
                units.append(unit)
        carried = carried + [u for u in found.declared if all(c.name != u.name for c in carried)]
        lead_the_first(units, first_leads=context.reader.first_leads)
        deadlines = find_deadlines(raw.text, year=context.year, transition=context.transition)
        # The title comes from the marker line alone; the lines after it are the body once.
        head, *more = raw.text.split("\n")
        title, rest = heading(head)
        body = "\n".join([rest, *more]).strip()
        out.append(
            Item(
                number=raw.block.number,
                section=raw.section,
                title=title,
                body=body,
                units=tuple(units),
                open_ended=found.open_ended,
                deadlines=tuple(deadlines),
                ordinal=ordinal,
                label=raw.block.label,
                group=raw.group,
                doubts=tuple(_time_doubts(found.phrases, deadlines, context)),
                scopes=tuple(found.scopes),
            )
        )
    return out


def _time_doubts(phrases: list[str], deadlines: list[Deadline], context: _Context) -> list[Doubt]:
    """Return a doubt for each time-limit phrase of the unit lists that gives no date."""
    return [
        doubts.deadline_not_understood(phrase)
        for phrase in dict.fromkeys(phrases)
        if not any(d.text in phrase for d in deadlines)
        and not find_deadlines(phrase, year=context.year, transition=context.transition)
    ]
