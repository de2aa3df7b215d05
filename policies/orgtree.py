"""The organisation tree of the registry (`[[government]]`, `[tree]`) and collective-unit levels."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache

from policies.units import REGISTRY_PATH

GOVERNMENT = "government"
DEPARTMENT = "department"
DIVISION = "division"
KINDS = (GOVERNMENT, DEPARTMENT, DIVISION)
LEVELS = ("province", "city", "county", "township")

# A collective names a kind of unit (各有关部门, 县直各部门, …成员单位), not governments, when it
# holds one of these words; then it never fans out.
_NOT_GOVERNMENTS_RE = re.compile(r"部门|单位|牵头|有关|成员|试点|直属|机关")
_CITY_RE = re.compile(r"^各市|市[（(]州[)）]|市州|地级")
_COUNTY_RE = re.compile(r"县")
_TOWNSHIP_RE = re.compile(r"乡|镇|街道")


@dataclass(frozen=True)
class TreeNode:
    """A unit of the seeded tree: code, name, kind, government level and its parent's code."""

    code: str
    name: str
    kind: str
    level: str = ""
    parent: str = ""


def collective_levels(name: str) -> tuple[str, ...]:
    """Return the government levels a collective unit names (各市（州）人民政府 -> city), if any."""
    name = name.strip()
    if not name.startswith("各") or _NOT_GOVERNMENTS_RE.search(name):
        return ()
    levels = []
    if _CITY_RE.search(name):
        levels.append("city")
    # 各县（市、区）: the 市 in brackets is a county-level city, not a prefecture.
    if _COUNTY_RE.search(name):
        levels.append("county")
    if _TOWNSHIP_RE.search(name):
        levels.append("township")
    return tuple(levels)


def build_tree(text: str) -> tuple[TreeNode, ...]:
    """Read the tree from the registry's TOML text; raise ValueError on a bad level or parent."""
    data = tomllib.loads(text)
    nodes: list[TreeNode] = []
    for row in data.get("government", []):
        level = str(row.get("level", ""))
        if level not in LEVELS:
            raise ValueError(f"bad government level: {level!r}")
        nodes.append(
            TreeNode(
                str(row["code"]), str(row["name"]), GOVERNMENT, level, str(row.get("parent", ""))
            )
        )
    tree = data.get("tree", {})
    prefix, top = str(tree.get("province_prefix", "")), str(tree.get("province_parent", ""))
    for row in data.get("department", []):
        code, name = str(row["code"]), str(row["name"])
        parent = str(row.get("parent", ""))
        if not parent and prefix and code.startswith(prefix) and name.startswith("省"):
            parent = top
        nodes.append(TreeNode(code, name, DEPARTMENT, "", parent))
    codes = {n.code for n in nodes}
    for n in nodes:
        if n.parent and n.parent not in codes:
            raise ValueError(f"unknown parent {n.parent!r} of {n.code!r}")
    return tuple(nodes)


@cache
def load_tree() -> tuple[TreeNode, ...]:
    """Return the tree of `policies/departments.toml` (read once)."""
    return build_tree(REGISTRY_PATH.read_text(encoding="utf-8"))
