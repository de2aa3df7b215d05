"""The unit registry: canonical names, aliases in both scripts, stable codes."""

from __future__ import annotations

import re

import pytest

from policies.parse import parse_file
from policies.units import build_registry, load_registry, unknown_code
from tests.policies.conftest import DOCUMENTS


def test_codes_are_unique_ascii_slugs():
    codes = [code for code, _ in load_registry().departments]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z0-9-]+", c) for c in codes)


@pytest.mark.parametrize(
    ("written", "name", "code"),
    [
        ("省扶貧辦", "省扶贫办", "jl-fpb"),
        ("省扶贫办", "省扶贫办", "jl-fpb"),
        ("省衛建委", "省卫健委", "jl-wjw"),
        ("吉林証監局", "吉林证监局", "jl-zjj"),
        ("发展改革委", "国家发展改革委", "cn-fgw"),
        ("國家發展改革委", "国家发展改革委", "cn-fgw"),
        ("人力资源和社会保障部", "人力资源社会保障部", "cn-rsb"),
        ("工信部", "工业和信息化部", "cn-gxb"),
    ],
)
def test_resolve(written, name, code):
    assert load_registry().resolve(written) == (name, code, True)


def test_unknown_unit_code_is_deterministic():
    resolved = load_registry().resolve("某县數據局")
    assert resolved == ("某县数据局", unknown_code("某县数据局"), False)
    assert re.fullmatch(r"x-[0-9a-f]{10}", resolved.code)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_every_unit_of_the_bundled_documents_is_known_with_a_code(path):
    for item in parse_file(path).items:
        for unit in item.units:
            assert unit.known and unit.code in dict(load_registry().departments)


def test_duplicate_codes_are_refused():
    toml = '[[department]]\ncode = "a"\nname = "甲局"\n[[department]]\ncode = "a"\nname = "乙局"\n'
    with pytest.raises(ValueError, match="duplicate"):
        build_registry(toml)
