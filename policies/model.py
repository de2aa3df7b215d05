"""The parsed shape of a policy document: what `duban policy parse --json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

UnitRole = Literal["lead", "co"]
Span = tuple[int, int]


@dataclass(frozen=True)
class Doubt:
    """Why the parser is unsure of a reading: a stable `code` and a line for a person."""

    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the doubt."""
        return {"code": self.code, "message": self.message}


def _span_json(span: Span | None) -> list[int] | None:
    return [span[0], span[1]] if span is not None else None


@dataclass(frozen=True)
class Unit:
    """A responsible unit of an item: canonical `name`, the text as written, its role."""

    name: str
    as_written: str
    role: UnitRole
    known: bool = True
    code: str | None = None
    collective: bool = False
    span: Span | None = None
    doubts: tuple[Doubt, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the unit."""
        out: dict[str, Any] = {"name": self.name, "as_written": self.as_written, "role": self.role}
        if self.code is not None:
            out["code"] = self.code
        if not self.known:
            out["unknown"] = True
        out["known"] = self.known
        out["collective"] = self.collective
        out["span"] = _span_json(self.span)
        out["doubts"] = [d.to_json() for d in self.doubts]
        return out


@dataclass(frozen=True)
class Deadline:
    """A deadline phrase of the text and the ISO date it means."""

    text: str
    date: date

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the deadline."""
        return {"text": self.text, "date": self.date.isoformat()}


@dataclass(frozen=True)
class Target:
    """A quantitative target of an item (指标): a number with its unit and direction.

    `direction` is at_least, at_most, reach or increase_by (a fall is a negative increase);
    `scope` is how it counts (每年, 每个县, 累计), `deadline` the date it belongs to.
    """

    text: str
    value: float
    unit: str
    direction: str
    scope: str | None = None
    deadline: date | None = None
    span: Span | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the target (a whole value as an integer)."""
        return {
            "text": self.text,
            "value": int(self.value) if self.value.is_integer() else self.value,
            "unit": self.unit,
            "direction": self.direction,
            "scope": self.scope,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "span": _span_json(self.span),
        }


@dataclass(frozen=True)
class Section:
    """A top-level section 一、二、…."""

    number: int
    title: str

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the section."""
        return {"number": self.number, "title": self.title}


@dataclass(frozen=True)
class Item:
    """A numbered item; it is a task when it carries responsible units."""

    number: int
    section: int
    title: str
    body: str
    units: tuple[Unit, ...] = ()
    open_ended: bool = False
    deadlines: tuple[Deadline, ...] = ()
    ordinal: int = 0
    label: str = ""
    group: str = ""
    span: Span | None = None
    doubts: tuple[Doubt, ...] = ()
    scopes: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()

    @property
    def key(self) -> int:
        """Return the item's number unique in its document (numbers may restart per section)."""
        return self.ordinal or self.number

    @property
    def is_task(self) -> bool:
        """Return whether the item names responsible units."""
        return bool(self.units)

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the item."""
        return {
            "number": self.number,
            "section": self.section,
            "title": self.title,
            "body": self.body,
            "units": [u.to_json() for u in self.units],
            "open_ended": self.open_ended,
            "deadlines": [d.to_json() for d in self.deadlines],
            "ordinal": self.ordinal,
            "label": self.label,
            "group": self.group,
            "span": _span_json(self.span),
            "doubts": [d.to_json() for d in self.doubts],
            "scopes": list(self.scopes),
            "targets": [t.to_json() for t in self.targets],
        }


@dataclass(frozen=True)
class Attachment:
    """An attachment (附件) list, such as the key counties."""

    title: str
    entries: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the attachment."""
        return {"title": self.title, "entries": list(self.entries)}


@dataclass(frozen=True)
class ParsedPolicy:
    """A whole parsed document (DESIGN.md, `duban policy parse --json`)."""

    title: str
    issued: date | None
    sections: tuple[Section, ...]
    items: tuple[Item, ...]
    attachments: tuple[Attachment, ...] = ()
    horizon: date | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def tasks(self) -> tuple[Item, ...]:
        """Return the items that carry responsible units."""
        return tuple(i for i in self.items if i.is_task)

    @property
    def unknown_units(self) -> tuple[str, ...]:
        """Return the unit names not found in the registry, sorted, once each."""
        return tuple(sorted({u.as_written for i in self.items for u in i.units if not u.known}))

    def to_json(self) -> dict[str, Any]:
        """Return the contract JSON of the whole document."""
        return {
            "title": self.title,
            "issued": self.issued.isoformat() if self.issued else None,
            "horizon": self.horizon.isoformat() if self.horizon else None,
            "sections": [s.to_json() for s in self.sections],
            "items": [i.to_json() for i in self.items],
            "attachments": [a.to_json() for a in self.attachments],
            "unknown_units": list(self.unknown_units),
        }


class PolicyParseError(ValueError):
    """The document cannot be parsed; the message is one line for a person."""
