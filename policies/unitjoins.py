"""Where a list's names meet: 和 / 及 / 与 between two whole names, and names torn by a space.

和 also stands inside names (人力资源和社会保障厅, 住房和城乡建设局, 自然资源和规划局), so a list is
split there only when each side reads as a whole unit name: known (to the registry or as a unit
of the same document), or shaped like one — it opens with a level or a place (省, 市, 各, 某某县)
and ends with what a unit is (局, 厅, 委, 办, 中心, 政府…). In 省人力资源和社会保障厅 the left side
"省人力资源" ends with no such word, so the name stays whole.

Text extracted from a PDF may tear a name with a stray space (省发展 改革委): two pieces parted
by spaces alone are one name when joined they give a known name that the pieces are not both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from policies.clauses import CLOSERS, OPENERS, Span, trim

if TYPE_CHECKING:
    from policies.unitnames import Names

_CONJUNCTION_RE = re.compile("和|及|与")
MAX_CONJUNCTIONS = 4  # more in one element is running text, not a short list of names
_MAX_ELEMENT = 80  # two names of 40 characters at most: a longer element is text, left alone
_MAX_PIECES = 3  # a name torn by spaces into at most three pieces
# The word a unit's name ends with (before a bracket of its own: 县水利局（河长办）).
_UNIT_END_RE = re.compile(
    r"(?:局|厅|委|办|部|院|会|署|处|室|所|站|队|馆|社|行|中心|公司|集团|政府|街道|海关|"
    r"单位|部门|机关|企业|学校|医院|工委|党委|党组|团委|妇联|残联|科协|省|市|县|区|州|盟|旗|乡|镇)"
    rf"(?:[{re.escape(OPENERS)}][^{re.escape(OPENERS + CLOSERS)}]*[{re.escape(CLOSERS)}])?$"
)
# A unit's name opens with its level or its place: 省财政厅, 各区政府, 中共某县委, 某某市城管局.
_UNIT_START_RE = re.compile(
    r"^(?:中共|中国)?(?:各|国家|全国|中央|省|市|县|区|州|盟|旗|乡|镇|街道"
    r"|[\u4e00-\u9fff]{1,6}?(?:省|市|县|区|州|盟|旗|乡|镇))"
)


def whole_name(name: str, names: Names) -> bool:
    """Return whether `name` reads as a whole unit name: known, or shaped like one."""
    if names.knows(name):
        return True
    return bool(_UNIT_START_RE.match(name) and _UNIT_END_RE.search(name))


def split_conjoined(text: str, span: Span, names: Names) -> list[Span]:
    """Split a list element at 和 / 及 / 与 where every part reads as a whole unit name.

    A name known whole (省人力资源和社会保障厅) is never split; of several ways the first whole
    name is the shortest, and the rest must split the same way.
    """
    if span[1] - span[0] > _MAX_ELEMENT or names.knows(text[span[0] : span[1]]):
        return [span]
    cuts = _conjunctions(text, span)
    if not cuts or len(cuts) > MAX_CONJUNCTIONS:
        return [span]
    return _parts(text, span, cuts, names) or [span]


def _conjunctions(text: str, span: Span) -> list[Span]:
    """Return the spans of the conjunctions of `span` outside nested brackets."""
    out, depth = [], 0
    for i in range(span[0], span[1]):
        char = text[i]
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS:
            depth = max(depth - 1, 0)
        elif depth == 0 and _CONJUNCTION_RE.match(char):
            out.append((i, i + 1))
    return out


def _parts(text: str, span: Span, cuts: list[Span], names: Names) -> list[Span] | None:
    """Return the parts of `span` split at some of `cuts`, each a whole name; None if no split.

    At most MAX_CONJUNCTIONS cuts, so the search over their subsets stays small.
    """
    for i, cut in enumerate(cuts):
        left = trim(text, (span[0], cut[0]))
        if left[0] >= left[1] or not whole_name(text[left[0] : left[1]], names):
            continue
        rest = trim(text, (cut[1], span[1]))
        if rest[0] >= rest[1]:
            return None
        if whole_name(text[rest[0] : rest[1]], names):
            return [left, rest]
        more = _parts(text, rest, cuts[i + 1 :], names)
        if more:
            return [left, *more]
    return None


def joined_at_spaces(text: str, elements: list[Span], names: Names) -> list[Span]:
    """Join list elements parted by spaces alone when together they make a known name.

    省发展 改革委 → 省发展改革委 (known); 省财政厅 省民政厅 stay two (each is known already).
    """
    out: list[Span] = []
    i = 0
    while i < len(elements):
        end = i
        for j in range(i + 1, min(i + _MAX_PIECES, len(elements))):
            if text[elements[j - 1][1] : elements[j][0]].strip():
                break  # a real separator (、) stands between them
            joined = text[elements[i][0] : elements[j][1]]
            pieces = [text[s:e] for s, e in elements[i : j + 1]]
            if names.knows(joined) and not all(names.knows(p) for p in pieces):
                end = j
        out.append((elements[i][0], elements[end][1]))
        i = end + 1
    return out
