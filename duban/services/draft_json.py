"""A draft's decomposition as JSON: from and to policies.model dataclasses, and its open doubts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from policies.doubts import UNKNOWN_UNIT, unknown_unit
from policies.model import (
    Attachment,
    Deadline,
    Doubt,
    Item,
    ParsedPolicy,
    Section,
    Target,
    Unit,
    UnitRole,
)

CADENCES = {
    "monthly": "按月",
    "quarterly": "按季度",
    "half-yearly": "按半年",
    "one-off": "一次性（仅按文件时限）",
}


@dataclass(frozen=True)
class OpenDoubt:
    """A doubt of the parser still waiting for a correction or an acceptance."""

    id: str
    code: str
    message: str
    item: int
    unit: int | None
    accepted: bool


def draft_json(parsed: ParsedPolicy) -> dict[str, Any]:
    """Return the parse as a draft's JSON: every doubt gets an id and `accepted: false`."""
    data = parsed.to_json()
    counter = 0
    for item in data["items"]:
        item["excluded"] = False
        for target in item.get("targets", []):
            target["confirmed"] = False  # the parser's reading, until a clerk confirms it
        for unit in item["units"]:
            if not unit.get("known", True) and not any(
                d["code"] == UNKNOWN_UNIT for d in unit.get("doubts", [])
            ):
                # An unknown unit always needs a person's decision, whether or not the parser said so.
                unit.setdefault("doubts", []).append(unknown_unit(unit["as_written"]).to_json())
        targets = [item, *item["units"]]
        for target in targets:
            for doubt in target.get("doubts", []):
                counter += 1
                doubt.update(id=f"d{counter}", accepted=False)
    data["next_doubt"] = counter + 1
    return data


def item_label(item: dict[str, Any]) -> str:
    """Return how a draft item is named in messages: its number and the start of its title."""
    return f"{item.get('label') or item['number']}{item['title'][:24]}"


def _span(value: Any) -> tuple[int, int] | None:
    return (int(value[0]), int(value[1])) if value else None


def _doubts(rows: list[dict[str, Any]]) -> tuple[Doubt, ...]:
    return tuple(Doubt(str(d["code"]), str(d["message"])) for d in rows)


def _unit(row: dict[str, Any]) -> Unit:
    role: UnitRole = "lead" if row.get("role") == "lead" else "co"
    return Unit(
        name=str(row["name"]),
        as_written=str(row.get("as_written") or row["name"]),
        role=role,
        known=bool(row.get("known", not row.get("unknown", False))),
        code=row.get("code"),
        collective=bool(row.get("collective", False)),
        span=_span(row.get("span")),
        doubts=_doubts(row.get("doubts", [])),
    )


def _item(row: dict[str, Any]) -> Item:
    units = () if row.get("excluded") else tuple(_unit(u) for u in row.get("units", []))
    return Item(
        number=int(row["number"]),
        section=int(row["section"]),
        title=str(row["title"]),
        body=str(row.get("body", "")),
        units=units,
        open_ended=bool(row.get("open_ended", False)),
        deadlines=tuple(
            Deadline(str(d["text"]), date.fromisoformat(d["date"])) for d in row["deadlines"]
        ),
        ordinal=int(row.get("ordinal") or 0),
        label=str(row.get("label", "")),
        group=str(row.get("group", "")),
        span=_span(row.get("span")),
        doubts=_doubts(row.get("doubts", [])),
        targets=tuple(_target(t) for t in row.get("targets", [])),
    )


def _target(row: dict[str, Any]) -> Target:
    return Target(
        text=str(row["text"]),
        value=float(row["value"]),
        unit=str(row["unit"]),
        direction=str(row["direction"]),
        scope=str(row["scope"]) if row.get("scope") else None,
        deadline=date.fromisoformat(row["deadline"]) if row.get("deadline") else None,
        span=_span(row.get("span")),
    )


def parsed_from_json(data: dict[str, Any]) -> ParsedPolicy:
    """Rebuild the ParsedPolicy of a draft's JSON; excluded items become context, not tasks."""
    items = tuple(_item(row) for row in data["items"])
    dates = [d.date for i in items if i.is_task for d in i.deadlines]
    return ParsedPolicy(
        title=str(data["title"]),
        issued=date.fromisoformat(data["issued"]) if data.get("issued") else None,
        sections=tuple(Section(int(s["number"]), str(s["title"])) for s in data["sections"]),
        items=items,
        attachments=tuple(
            Attachment(str(a["title"]), tuple(a.get("entries", [])))
            for a in data.get("attachments", [])
        ),
        horizon=max(dates) if dates else None,
    )


def _doubt_rows(data: dict[str, Any]) -> Iterator[OpenDoubt]:
    for item in data["items"]:
        if item.get("excluded"):
            continue  # an item that is not a task has nothing left to decide
        key = int(item.get("ordinal") or item["number"])
        targets = [(None, item), *enumerate(item.get("units", []))]
        for unit, target in targets:
            for d in target.get("doubts", []):
                yield OpenDoubt(
                    id=str(d.get("id", "")),
                    code=str(d["code"]),
                    message=str(d["message"]),
                    item=key,
                    unit=unit,
                    accepted=bool(d.get("accepted")),
                )


def doubts_of(data: dict[str, Any]) -> list[OpenDoubt]:
    """Return every doubt still on the draft (accepted ones included), in document order."""
    return list(_doubt_rows(data))


def open_doubts(data: dict[str, Any]) -> list[OpenDoubt]:
    """Return the doubts that are neither resolved by a correction nor accepted."""
    return [d for d in _doubt_rows(data) if not d.accepted]
