"""The units of one item: its lists read, names resolved through the registry, roles settled,
each unit's span in the source, and the doubts of the reading (unknown unit, role guessed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from policies import doubts
from policies.lines import Line
from policies.model import Unit
from policies.spans import ItemMap, SourceMap
from policies.unitlists import RawUnit, UnitBracket, read_brackets
from policies.unitnames import FIRST_LEADS_RE, REMARK_RE
from policies.units import Registry, name_key

# Scope and time-limit fields wherever they stand in the item, in a unit list or on a line of
# their own (完成时限：持续推进 / 适用范围：综合保税区).
_FIELD_RE = re.compile(
    r"(?:^|(?<=[\n。；;，,（(【\[〔\s]))(适用范围|实施范围|完成时限|完成时间|时限要求|时间节点|时限)"
    r"\s*[:：]\s*([^。；;\n）)】\]〕]+)"
)


@dataclass
class ItemUnits:
    """What an item's lists give: units in order, open (等), units declared onward, and the rest."""

    units: list[Unit] = field(default_factory=list)
    open_ended: bool = False
    declared: list[Unit] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    timed_only: bool = False  # a bracket where units stand gave time phrases alone


def states_first_leads(text: str) -> bool:
    """Return whether a text states once that the first unit listed leads (列第一位者为牵头单位)."""
    return FIRST_LEADS_RE.search(text) is not None


@dataclass(frozen=True)
class DocumentNames:
    """Names known to the registry or read as units somewhere in the same document."""

    registry: Registry
    seen: frozenset[str]

    def knows(self, as_written: str) -> bool:
        """Return whether the name is in the registry or was read as a unit in the document."""
        return self.registry.knows(as_written) or name_key(as_written) in self.seen


class UnitReader:
    """Reads the units of a document's items, in order, with what the document states once."""

    def __init__(self, registry: Registry, body: list[Line], item_texts: list[str]) -> None:
        self.registry = registry
        self.source = SourceMap(body)
        # A first reading with the registry alone gives the names the document uses as units.
        self.first_reading = {text: read_brackets(text, registry) for text in item_texts}
        seen = {
            name_key(text[u.start : u.end])
            for text, brackets in self.first_reading.items()
            for bracket in brackets
            for u in bracket.units
        }
        self.names = DocumentNames(registry, frozenset(seen))
        self.reread = any(not registry.knows(name) for name in seen)
        # Where the document states that the first listed leads (列第一位者为牵头单位，下同).
        self.rule_at = next((ln.offset for ln in body if states_first_leads(ln.text)), None)
        self.first_leads = False

    def item(self, text: str, original: str, source: ItemMap | None = None) -> ItemUnits:
        """Return the units of one item (its text in Simplified and as written); call in order.

        `source`: where the item's lines stand, when the caller knows (an item of an attachment).
        """
        source = source or self.source.item(original)
        end = max((o for o in source.offsets if o is not None), default=None)
        holds = self.rule_at is not None and end is not None and self.rule_at <= end
        self.first_leads = self.first_leads or holds or states_first_leads(text)
        first = self.first_reading.get(text)
        brackets = read_brackets(text, self.names) if self.reread or first is None else first
        found = read_units(brackets, original, self.registry, source, self.first_leads)
        for m in _FIELD_RE.finditer(text):
            _add_field(found, m.group(1), m.group(2))
        found.scopes = list(dict.fromkeys(found.scopes))
        return found


def _add_field(found: ItemUnits, label: str, value: str) -> None:
    """Add a scope (each, parted by commas) or a time phrase, up to a standing remark."""
    parts: list[str] = []
    for part in re.split("[，,]", value):
        if REMARK_RE.search(part):
            break  # 以下适用范围均同: a standing remark, not a value
        parts += [part.strip()] if part.strip() else []
    if "范围" in label:
        found.scopes += parts
    elif parts:
        found.phrases.append("，".join(parts))


def read_units(
    brackets: list[UnitBracket],
    original: str,
    registry: Registry,
    source: ItemMap,
    first_leads: bool,
) -> ItemUnits:
    """Return the union of an item's unit lists; `first_leads`: the document's rule holds."""
    out = ItemUnits()
    at: dict[str, int] = {}  # where each name stands in out.units
    for bracket in brackets:
        out.open_ended = out.open_ended or bracket.open_ended
        out.timed_only = out.timed_only or bracket.timed_only
        out.scopes += bracket.scopes
        out.phrases += bracket.phrases
        for found in bracket.units:
            _merge(out.units, at, _unit(found, original, registry, source, first_leads))
        out.declared += [_unit(f, original, registry, source, True) for f in bracket.declared]
    return out


def lead_the_first(units: list[Unit], *, first_leads: bool) -> None:
    """Give the lead to the first unit when every unit is marked co-organizer (DESIGN's rule)."""
    if units and all(u.role != "lead" for u in units):
        guess = () if first_leads else (doubts.role_guessed(),)
        units[0] = replace(units[0], role="lead", doubts=units[0].doubts + guess)


def _unit(
    found: RawUnit, original: str, registry: Registry, source: ItemMap, first_leads: bool
) -> Unit:
    as_written = original[found.start : found.end]
    resolved = registry.resolve(as_written)
    reasons = [] if resolved.known else [doubts.unknown_unit(as_written)]
    if found.guessed and not first_leads:
        reasons.append(doubts.role_guessed())
    return Unit(
        resolved.name,
        as_written,
        found.role,
        resolved.known,
        resolved.code,
        collective=found.collective,
        span=source.span(found.start, found.end),
        doubts=tuple(reasons),
    )


def _merge(units: list[Unit], at: dict[str, int], unit: Unit) -> None:
    """Add a unit once, in order; a unit that is lead anywhere in the item stays lead."""
    i = at.get(unit.name)
    if i is None:
        at[unit.name] = len(units)
        units.append(unit)
    elif unit.role == "lead" and units[i].role != "lead":
        units[i] = replace(units[i], role="lead", doubts=unit.doubts)
