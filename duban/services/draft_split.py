"""Splitting a draft item: the new item stands right after its source and is numbered 之一, 之二 there.

A clerk reads "（五）" split in two as "（五）" and "（五之一）", the way inserted articles of a law
are numbered (第五条之一): the items after it keep their numbers, so nothing else in the
document is renumbered. Splitting again, from the original or from one of its parts, adds the
next part and numbers the parts 之一, 之二 … in the order they stand. Behind the label each part
gets a new number of its own (after the document's last), which its task is keyed by.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from duban.errors import Invalid

Json = dict[str, Any]
_NUMERAL = "0-9０-９一二三四五六七八九十百零〇两"
# The label up to its last numeral (and 条/项 after it), then the rest ("）", "、", ".").
_LABEL_RE = re.compile(rf"^(.*[{_NUMERAL}](?:条|项)?)(.*)$")
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """Return 1..99 in Chinese numerals (一, 十, 十一, 二十一); larger ones in digits."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def part_label(base: str, part: int) -> str:
    """Return the label of part `part` split from an item labelled `base`: （五） → （五之一）."""
    suffix = "之" + chinese_number(part)
    match = _LABEL_RE.match(base)
    return f"{match.group(1)}{suffix}{match.group(2)}" if match else f"{base}{suffix}"


def _key(item: Json) -> int:
    return int(item.get("ordinal") or item["number"])


def _base_label(item: Json) -> str:
    return str(item.get("label") or f"（{item['number']}）")


def split_item(items: list[Json], item: Json, words: str, *, first_key: int = 0) -> Json:
    """Cut `item` where `words` begin; insert the rest right after it and renumber its parts.

    `first_key` is the least key the new part may take (an amendment passes one above the
    running version's, so a new part is never taken for a task that version had).
    """
    words = words.strip()
    cut = item["body"].find(words) if words else -1
    if cut <= 0:
        raise Invalid("请填写条目正文中新条目开头的原文（不能是正文的第一句）")
    head, tail = item["body"][:cut].rstrip(), item["body"][cut:]
    root_key = int(item.get("split_from") or _key(item))
    new = {
        **copy.deepcopy(item),
        "number": item["number"],
        "ordinal": max([first_key, *(_key(i) + 1 for i in items)]),
        "split_from": root_key,
        "split_base": item.get("split_base") or _base_label(item),
        "title": re.split(r"[。；;]", tail, maxsplit=1)[0][:200],
        "body": tail,
        "units": [],
        "deadlines": [],
        "span": None,
        "doubts": [],
        "excluded": False,
    }
    new.pop("cadence", None)
    item["body"] = head
    items.insert(items.index(item) + 1, new)
    renumber_parts(items)
    return new


def renumber_parts(items: list[Json]) -> None:
    """Label every split part by its place after its source: 之一, 之二 … (after a merge too)."""
    roots = {int(i["split_from"]) for i in items if i.get("split_from")}
    for root_key in roots:
        parts = [i for i in items if i.get("split_from") == root_key]
        for n, part in enumerate(parts, start=1):
            part["label"] = part_label(str(part["split_base"]), n)
