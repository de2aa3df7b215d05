"""Corrections of a draft item's targets (指标): add, correct, remove, confirm.

Every field of a target is checked (`duban.services.target.checked_target`) before the draft's
JSON changes, so a bad number, unit or date changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from duban.errors import Invalid
from duban.services.draft_json import item_label
from duban.services.target import MAX_TARGETS, TargetFields, checked_target

if TYPE_CHECKING:
    from duban.services.draft_edit import DraftEdit

Json = dict[str, Any]


def _target_at(item: Json, index: int | None) -> Json:
    targets: list[Json] = item.setdefault("targets", [])
    if index is None or not 0 <= index < len(targets):
        raise Invalid(f"该条目没有第 {0 if index is None else index + 1} 个指标")
    return targets[index]


def set_target(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    """Add a target (no index) or correct one; every field is checked before anything changes."""
    fields = TargetFields(
        edit.value, edit.measure, edit.direction, edit.scope, edit.deadline, edit.text
    )
    target = checked_target(fields)
    targets: list[Json] = item.setdefault("targets", [])
    if edit.index is None:
        if len(targets) >= MAX_TARGETS:
            raise Invalid(f"一个条目最多 {MAX_TARGETS} 个指标")
        targets.append(target)
        return f"{item_label(item)}：增加指标“{target['text']}”"
    old = _target_at(item, edit.index)
    target["span"] = old.get("span")
    targets[edit.index] = target
    return f"{item_label(item)}：指标“{old['text']}”改为“{target['text']}”"


def remove_target(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    gone = _target_at(item, edit.index)
    item["targets"].remove(gone)
    return f"{item_label(item)}：删除指标“{gone['text']}”"


def confirm_target(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    target = _target_at(item, edit.index)
    target["confirmed"] = True
    return f"{item_label(item)}：确认指标“{target['text']}”无误"
