"""Parse a policy text into a ParsedPolicy: title, date, sections, items, units, deadlines, attachments."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from policies import doubts
from policies.deadlines import find_deadlines, transition_years
from policies.decode import read_policy_file
from policies.itemunits import UnitReader, lead_the_first
from policies.lines import DATE_LINE_RE, Line, split_lines
from policies.model import Deadline, Doubt, Item, ParsedPolicy, PolicyParseError, Unit
from policies.parts import Entry, read_parts
from policies.structure import RawItem, heading
from policies.tablecells import row_item
from policies.tables import Row
from policies.targets import item_targets
from policies.units import load_registry

_DOC_NUMBER_RE = re.compile(r"〔(\d{4})〕\s*\d+\s*号")
NO_ITEMS = "未找到编号条目 / no numbered items found in the document"


def parse_file(path: str | Path, *, max_bytes: int = 32 * 1024 * 1024) -> ParsedPolicy:
    """Parse a policy file of any accepted shape (txt, docx, pdf, html); raise PolicyParseError."""
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
    parts = read_parts(lines, registry)
    if not parts.entries:
        raise PolicyParseError(NO_ITEMS)
    issued = issue_date(lines)
    year = issued.year if issued else _year_of(lines)
    folded = "\n".join(ln.text for ln in parts.body)
    transition = transition_years(folded)
    texts = [entry.text for entry in parts.entries if isinstance(entry, RawItem)]
    reader = UnitReader(registry, parts.body, texts)
    context = _Context(reader, year, transition)
    items = _items(parts.entries, context)
    deadlines = find_deadlines(folded, year=year, transition=transition)
    return ParsedPolicy(
        title=title_of(lines),
        issued=issued,
        sections=tuple(parts.sections),
        items=tuple(items),
        attachments=tuple(parts.attachments),
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


def _items(entries: list[Entry], context: _Context) -> list[Item]:
    """Build the items: their units (with units declared once for the rest of a section) and deadlines."""
    out: list[Item] = []
    carried: list[Unit] = []
    section = None
    for ordinal, entry in enumerate(entries, start=1):
        if isinstance(entry, Row):
            item = row_item(
                entry,
                context.reader.registry,
                section=entry.section,
                year=context.year,
                transition=context.transition,
            )
            out.append(replace(item, ordinal=ordinal, doubts=_doubts(item, among=True)))
            continue
        if entry.section != section:
            carried, section = [], entry.section
        item, declared = _item(entry, context, carried)
        carried = carried + [u for u in declared if all(c.name != u.name for c in carried)]
        out.append(replace(item, ordinal=ordinal, doubts=_doubts(item, among=entry.among_tasks)))
    return out


def _doubts(item: Item, *, among: bool) -> tuple[Doubt, ...]:
    """Return the item's doubts, and item_without_units for a task-like item among tasks."""
    if among and not item.units and all(d.code != doubts.ITEM_WITHOUT_UNITS for d in item.doubts):
        return (*item.doubts, doubts.item_without_units())
    return item.doubts


def _item(raw: RawItem, context: _Context, carried: list[Unit]) -> tuple[Item, list[Unit]]:
    """Return the item of a numbered block or paragraph, and the units it declares onward."""
    found = context.reader.item(raw.text, raw.raw, raw.item_map())
    units = found.units
    for unit in carried:
        if all(u.name != unit.name for u in units):
            units.append(unit)
    lead_the_first(units, first_leads=context.reader.first_leads)
    deadlines = find_deadlines(raw.text, year=context.year, transition=context.transition)
    # The title comes from the marker line alone; the lines after it are the body once.
    targets = item_targets(
        raw.text,
        raw.raw,
        raw.item_map().span,
        year=context.year,
        transition=context.transition,
        deadlines=deadlines,
    )
    head, *more = raw.text.split("\n")
    title, rest = heading(head)
    item = Item(
        number=raw.block.number,
        section=raw.section,
        title=title,
        body="\n".join([rest, *more]).strip(),
        units=tuple(units),
        open_ended=found.open_ended,
        deadlines=tuple(deadlines),
        label=raw.block.label,
        group=raw.group,
        span=raw.span,
        doubts=tuple(_time_doubts(found.phrases, context))
        # A bracket closing the item where its units would stand holds a time limit alone.
        + ((doubts.item_without_units(),) if found.timed_only and not units else ()),
        scopes=tuple(found.scopes),
        targets=targets,
    )
    return item, found.declared


def _time_doubts(phrases: list[str], context: _Context) -> list[Doubt]:
    """Return a doubt for each time-limit phrase of the unit lists that gives no date."""
    return [
        doubts.deadline_not_understood(phrase)
        for phrase in dict.fromkeys(phrases)
        # Read as a time-limit field, so that a bare date (2024年11月15日) counts too.
        if not find_deadlines(
            f"完成时限：{phrase}", year=context.year, transition=context.transition
        )
    ]
