"""Why the parser is unsure of a reading: the doubt codes and their messages for a person."""

from __future__ import annotations

from policies.model import Doubt

UNKNOWN_UNIT = "unknown_unit"
ROLE_GUESSED = "role_guessed"
DEADLINE_NOT_UNDERSTOOD = "deadline_not_understood"
ITEM_WITHOUT_UNITS = "item_without_units"


def unknown_unit(name: str) -> Doubt:
    """Return the doubt of a unit the registry does not know."""
    return Doubt(UNKNOWN_UNIT, f"单位“{name}”不在单位名录中，请核对或对应到已有单位")


def role_guessed() -> Doubt:
    """Return the doubt of a role read from the order of the list (first listed leads)."""
    return Doubt(ROLE_GUESSED, "未写明牵头或配合，按列第一位者为牵头单位推定")


def deadline_not_understood(phrase: str) -> Doubt:
    """Return the doubt of a time-limit phrase that gives no date."""
    return Doubt(DEADLINE_NOT_UNDERSTOOD, f"时限“{phrase}”未能识别为具体日期")


def item_without_units() -> Doubt:
    """Return the doubt of an item that reads like a task but names no responsible unit."""
    return Doubt(ITEM_WITHOUT_UNITS, "该条目未读出责任单位，请确认是否为任务")
