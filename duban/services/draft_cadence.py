"""Reporting cadence of a draft: a document default, and any task's own cadence that overrides it."""

from __future__ import annotations

from typing import Any

from duban.errors import Invalid
from duban.services.draft_json import CADENCES

DEFAULT_CADENCE = "quarterly"
# What a task without its own cadence is set to: "use the document's default".
INHERIT = ("", "default")
Json = dict[str, Any]


def checked(value: str) -> str:
    """Return a cadence code, or refuse it with the choices in words."""
    if value not in CADENCES:
        raise Invalid(f"报送周期只能是：{'、'.join(CADENCES.values())}")
    return value


def item_key(item: Json) -> int:
    """Return an item's number unique in its document (what the published task is keyed by)."""
    return int(item.get("ordinal") or item["number"])


def effective(item: Json, default: str) -> str:
    """Return the cadence a task reports at: its own, else the document's default."""
    own = item.get("cadence")
    return str(own) if own in CADENCES else default


def set_item_cadence(item: Json, value: str) -> str:
    """Give one task its own cadence, or (empty / `default`) let it follow the document again."""
    if value in INHERIT:
        item.pop("cadence", None)
        return "报送周期改为随文件默认"
    item["cadence"] = checked(value)
    return f"报送周期设为{CADENCES[value]}"


def published_cadences(data: Json, default: str) -> Json:
    """Return what a published version keeps: the default and each task's own cadence by number."""
    own = {
        str(item_key(i)): i["cadence"]
        for i in data["items"]
        if i.get("cadence") in CADENCES and i.get("units") and not i.get("excluded")
    }
    return {"cadence": default if default in CADENCES else None, "item_cadences": own}


def version_cadence(parsed: Json | None, number: int, override: str | None = None) -> str:
    """Return the cadence of task `number` of a published version (the starter's reading).

    A task's own cadence wins; then a cadence given for the whole run; then the document's
    default; versions published before cadences existed report quarterly.
    """
    parsed = parsed or {}
    own = (parsed.get("item_cadences") or {}).get(str(number))
    if own in CADENCES:
        return str(own)
    return override or str(parsed.get("cadence") or DEFAULT_CADENCE)


def cadence_name(code: str) -> str:
    """Return a cadence in words (the code itself when unknown)."""
    return CADENCES.get(code, code)
