"""Corrections of a draft's decomposition: titles, units, roles, deadlines, exclusion, merge/split, doubts."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from duban.errors import Invalid
from duban.models import PolicyDraft
from duban.services.department_admin import create_department
from duban.services.department_search import department_unit, find_department
from duban.services.draft import Actor, all_or_nothing, claim_draft, log_change
from duban.services.draft_cadence import checked, set_item_cadence
from duban.services.draft_json import CADENCES, item_label
from duban.services.draft_split import renumber_parts, split_item
from duban.services.draft_targets import confirm_target, remove_target, set_target

ITEM_REF_RE = re.compile(r"^d(\d+)-i(\d+)$")
ROLES = {"lead": "牵头", "co": "配合"}
Json = dict[str, Any]


@dataclass(frozen=True)
class DraftEdit:
    """One correction; `item` is a draft item id (`d{draft}-i{ordinal}`), `unit` an index in it."""

    op: str
    item: str = ""
    unit: int | None = None
    index: int | None = None
    value: str = ""
    text: str = ""
    # A target's unit of measure, direction, scope and deadline (ops `target`).
    measure: str = ""
    direction: str = ""
    scope: str = ""
    deadline: str = ""


def item_ref(draft_id: int, item: Json) -> str:
    """Return the id of a draft item, unique across drafts."""
    return f"d{draft_id}-i{item['ordinal'] or item['number']}"


def _find_item(data: Json, draft_id: int, ref: str) -> Json:
    match = ITEM_REF_RE.match(ref or "")
    if match is None:
        raise Invalid(f"条目编号“{ref}”格式不正确")
    if int(match.group(1)) != draft_id:
        raise Invalid(
            f"条目 {ref} 属于草稿 {match.group(1)}，不属于本草稿（草稿 {draft_id}），未做修改"
        )
    found: Json | None = next((i for i in data["items"] if item_ref(draft_id, i) == ref), None)
    if found is not None:
        return found
    raise Invalid(f"本草稿中没有条目 {ref}")


def _unit(item: Json, index: int | None) -> Json:
    units: list[Json] = item["units"]
    if index is None or not 0 <= index < len(units):
        raise Invalid(
            f"条目“{item['title'][:20]}”没有第 {0 if index is None else index + 1} 个单位"
        )
    return units[index]


def _drop_doubts(target: Json, *codes: str) -> None:
    """A correction resolves the doubts it answers (all of the target's when no code is given)."""
    target["doubts"] = [d for d in target.get("doubts", []) if codes and d["code"] not in codes]


def _set_title(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    title = edit.value.strip()
    if not title or len(title) > 1000:
        raise Invalid("条目标题不能为空，且不超过 1000 字")
    old, item["title"] = item["title"], title
    return f"条目标题“{old[:24]}”改为“{title[:24]}”"


def _add_unit(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    unit = department_unit(session=session, value=edit.value, as_written=edit.text)
    if any(u.get("code") == unit["code"] for u in item["units"]):
        raise Invalid(f"“{unit['name']}”已是该条目的责任单位")
    role = edit.text if edit.text in ROLES else ("co" if item["units"] else "lead")
    unit["role"] = role
    unit["as_written"] = unit["name"] if edit.text in ROLES else unit["as_written"]
    item["units"].append(unit)
    _drop_doubts(item, "item_without_units")
    item["excluded"] = False
    return f"{item_label(item)}：增加{ROLES[role]}单位“{unit['name']}”"


def _remove_unit(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    unit = _unit(item, edit.unit)
    item["units"].remove(unit)
    if item["units"] and not any(u["role"] == "lead" for u in item["units"]):
        item["units"][0]["role"] = "lead"  # every task keeps a lead (DESIGN: the first listed)
    return f"{item_label(item)}：删除单位“{unit['name']}”"


def _set_role(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    if edit.value not in ROLES:
        raise Invalid("角色只能是牵头（lead）或配合（co）")
    unit = _unit(item, edit.unit)
    unit["role"] = edit.value
    _drop_doubts(unit, "role_guessed")
    _drop_doubts(item, "role_guessed")
    return f"{item_label(item)}：“{unit['name']}”改为{ROLES[edit.value]}"


def _map_unit(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    unit = _unit(item, edit.unit)
    department = find_department(session=session, value=edit.value)
    if department is None:
        raise Invalid(f"没有名称或代码为“{edit.value}”的部门，请从列表中选择或新建部门")
    old = unit["name"]
    if any(u is not unit and u.get("code") == department.code for u in item["units"]):
        item["units"].remove(unit)  # the same department listed twice is one assignment
        return f"{item_label(item)}：单位“{old}”即“{department.name}”，已合并"
    unit.update(name=department.name, code=department.code, known=True)
    unit.pop("unknown", None)
    _drop_doubts(unit, "unknown_unit")
    return f"{item_label(item)}：单位“{old}”对应为“{department.name}”（{department.code}）"


def _create_and_map(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    unit = _unit(item, edit.unit)
    department = create_department(session=session, code=edit.text, name=edit.value.strip())
    return (
        _map_unit(
            session,
            data,
            item,
            DraftEdit("map_unit", unit=item["units"].index(unit), value=department.code),
        )
        + "（新建部门）"
    )


def _deadline_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise Invalid(f"日期“{value}”无效，请按 YYYY-MM-DD 填写") from exc


def _set_deadline(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    day = _deadline_date(edit.value)
    deadline = {
        "text": edit.text.strip()[:100] or f"{day.year}年{day.month}月{day.day}日前",
        "date": day.isoformat(),
    }
    deadlines: list[Json] = item["deadlines"]
    if edit.index is None:
        deadlines.append(deadline)
        what = "增加时限"
    elif 0 <= edit.index < len(deadlines):
        what = f"时限“{deadlines[edit.index]['text']}”改为"
        deadlines[edit.index] = deadline
    else:
        raise Invalid(f"该条目没有第 {edit.index + 1} 个时限")
    deadlines.sort(key=lambda d: d["date"])
    _drop_doubts(item, "deadline_not_understood")
    return f"{item_label(item)}：{what}“{deadline['text']}”（{day.isoformat()}）"


def _remove_deadline(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    deadlines: list[Json] = item["deadlines"]
    if edit.index is None or not 0 <= edit.index < len(deadlines):
        raise Invalid("要删除的时限不存在")
    gone = deadlines.pop(edit.index)
    return f"{item_label(item)}：删除时限“{gone['text']}”"


def _exclude(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    item["excluded"] = edit.value not in ("0", "false", "")
    return f"{item_label(item)}：{'标为非任务（不交办）' if item['excluded'] else '恢复为任务'}"


def _merge(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    items: list[Json] = data["items"]
    at = items.index(item)
    if at == 0:
        raise Invalid("第一个条目前面没有可并入的条目")
    into = items[at - 1]
    into["body"] = "\n".join(p for p in (into["body"], item["title"], item["body"]) if p)
    codes = {u.get("code") for u in into["units"]}
    into["units"] += [dict(u, role="co") for u in item["units"] if u.get("code") not in codes]
    into["deadlines"] = sorted(into["deadlines"] + item["deadlines"], key=lambda d: d["date"])
    into["targets"] = into.get("targets", []) + item.get("targets", [])
    into["doubts"] = into.get("doubts", []) + item.get("doubts", [])
    items.remove(item)
    renumber_parts(items)
    return f"{item_label(item)} 并入 {item_label(into)}"


def _split(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    first_key = int(data.get("first_new_key") or 0)
    new = split_item(data["items"], item, edit.value, first_key=first_key)
    return f"{item_label(item)} 拆分出新条目{new['label']}“{new['title'][:24]}”"


def _set_cadence(session: Session, data: Json, item: Json, edit: DraftEdit) -> str:
    if not item["units"] or item.get("excluded"):
        raise Invalid(f"{item_label(item)}不是任务，无需设定报送周期")
    return f"{item_label(item)}：{set_item_cadence(item, edit.value)}"


def _accept(session: Session, data: Json, item: Json | None, edit: DraftEdit) -> str:
    for row in data["items"]:
        for target in [row, *row["units"]]:
            for doubt in target.get("doubts", []):
                if doubt.get("id") == edit.value:
                    doubt["accepted"] = True
                    return f"{item_label(row)}：确认疑点“{doubt['message'][:40]}”无误"
    raise Invalid(f"本草稿中没有疑点 {edit.value}")


def _accept_all(data: Json, code: str) -> str:
    """Accept every open doubt of one kind (e.g. roles read from the order of a list)."""
    count = 0
    for row in data["items"]:
        for target in [row, *row["units"]]:
            for doubt in target.get("doubts", []):
                if not doubt.get("accepted") and doubt["code"] == code:
                    doubt["accepted"] = True
                    count += 1
    if not count:
        raise Invalid("没有这一类待处理的疑点")
    return f"确认全部 {count} 个同类疑点（{code}）无误"


ItemOp = Callable[[Session, Json, Json, DraftEdit], str]
ITEM_OPS: dict[str, ItemOp] = {
    "title": _set_title,
    "add_unit": _add_unit,
    "remove_unit": _remove_unit,
    "role": _set_role,
    "map_unit": _map_unit,
    "create_department": _create_and_map,
    "deadline": _set_deadline,
    "remove_deadline": _remove_deadline,
    "exclude": _exclude,
    "merge": _merge,
    "split": _split,
    "cadence": _set_cadence,
    "target": set_target,
    "remove_target": remove_target,
    "confirm_target": confirm_target,
}
OPS = frozenset({*ITEM_OPS, "accept", "accept_all"})


def _apply_one(session: Session, draft: PolicyDraft, data: Json, edit: DraftEdit) -> str:
    if edit.op == "accept":
        return _accept(session, data, None, edit)
    if edit.op == "accept_all":
        return _accept_all(data, edit.value)
    if edit.op == "cadence" and not edit.item:
        draft.cadence = checked(edit.value)
        return f"文件默认报送周期设为{CADENCES[edit.value]}"
    op = ITEM_OPS.get(edit.op)
    if op is None:
        raise Invalid(f"不支持的修改“{edit.op}”")
    return op(session, data, _find_item(data, draft.id, edit.item), edit)


def apply_edits(
    *,
    session: Session,
    draft_id: int,
    lock_version: int | None,
    edits: Sequence[DraftEdit],
    actor: Actor,
) -> PolicyDraft:
    """Apply corrections all together or not at all; each is logged with who and when."""
    if not edits:
        raise Invalid("没有要保存的修改")
    # A savepoint: a refused edit leaves neither the lock nor a half-made department behind.
    with all_or_nothing(session):
        draft = claim_draft(session=session, draft_id=draft_id, lock_version=lock_version)
        data = copy.deepcopy(draft.corrected)
        summaries = [_apply_one(session, draft, data, edit) for edit in edits]
        draft.corrected = data
    for edit, summary in zip(edits, summaries, strict=True):
        log_change(
            session=session,
            draft=draft,
            actor=actor,
            action=edit.op,
            summary=summary,
            data={
                "item": edit.item,
                "unit": edit.unit,
                "index": edit.index,
                "value": edit.value,
                "text": edit.text,
                **{
                    k: v
                    for k, v in (
                        ("measure", edit.measure),
                        ("direction", edit.direction),
                        ("scope", edit.scope),
                        ("deadline", edit.deadline),
                    )
                    if v
                },
            },
        )
    return draft
