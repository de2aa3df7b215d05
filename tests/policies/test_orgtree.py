"""The registry's organisation tree and the levels a collective unit names (pure)."""

from __future__ import annotations

import pytest

from policies.orgtree import build_tree, collective_levels, load_tree


@pytest.mark.parametrize(
    ("name", "levels"),
    [
        ("各市（州）人民政府", ("city",)),
        ("各县（市、区）人民政府", ("county",)),
        ("各县（市、区）", ("county",)),
        ("各县、市、区政府", ("county",)),
        ("各市（州）、县（市、区）人民政府", ("city", "county")),
        ("各乡（镇）人民政府", ("township",)),
        ("各有关部门和单位", ()),
        ("县直各部门", ()),
        ("各项目牵头单位", ()),
        ("各有关区", ()),
    ],
)
def test_collective_levels(name, levels):
    assert collective_levels(name) == levels


def test_the_seeded_tree_places_province_departments_and_cities():
    nodes = {n.code: n for n in load_tree()}
    assert nodes["jl-gov"].level == "province" and nodes["jl-gov"].parent == ""
    assert nodes["jl-cc"].parent == "jl-gov" and nodes["jl-fpb"].parent == "jl-gov"
    assert nodes["cn-fgw"].parent == "" and nodes["jl-rmyh-cc"].parent == ""


def test_a_bad_tree_is_refused():
    with pytest.raises(ValueError, match="unknown parent"):
        build_tree('[[government]]\ncode = "a"\nname = "甲"\nlevel = "city"\nparent = "zz"\n')
    with pytest.raises(ValueError, match="bad government level"):
        build_tree('[[government]]\ncode = "a"\nname = "甲"\nlevel = "planet"\n')
