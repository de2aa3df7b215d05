"""Malformed input gets one clear PolicyParseError line, never another exception."""

from __future__ import annotations

import contextlib
import random

import pytest

from policies.model import PolicyParseError
from policies.parse import parse_file, parse_text
from tests.policies.conftest import JILIN


def _error(path, **kwargs):
    with pytest.raises(PolicyParseError) as info:
        parse_file(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message
    return message


def test_missing_path(tmp_path):
    assert "not found" in _error(tmp_path / "nope.txt")


def test_directory(tmp_path):
    assert "directory" in _error(tmp_path)


@pytest.mark.parametrize("data", [b"", b" \n\r\n\t"])
def test_empty(tmp_path, data):
    (tmp_path / "e.txt").write_bytes(data)
    assert "empty" in _error(tmp_path / "e.txt")


def test_binary(tmp_path):
    (tmp_path / "b.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    assert "binary" in _error(tmp_path / "b.bin")


def test_non_utf8_garbage(tmp_path):
    (tmp_path / "g.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    assert "UTF-8" in _error(tmp_path / "g.txt")


def test_gb18030_chinese_is_read(tmp_path):
    text = JILIN.read_text(encoding="utf-8")
    (tmp_path / "gb.txt").write_bytes(text.encode("gb18030"))
    assert parse_file(tmp_path / "gb.txt").to_json() == parse_file(JILIN).to_json()


def test_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)

    def no_read(*args, **kwargs):
        raise AssertionError("read a file that is too large")

    monkeypatch.setattr("pathlib.Path.open", no_read)
    monkeypatch.setattr("pathlib.Path.read_bytes", no_read)
    assert "too large" in _error(big)


def test_itemless_text(tmp_path):
    (tmp_path / "t.txt").write_text("只是一段没有编号的文字。\n另一段。", encoding="utf-8")
    assert "no numbered items" in _error(tmp_path / "t.txt")
    with pytest.raises(PolicyParseError):
        parse_text("")


def test_random_bytes_and_text_raise_only_policy_parse_error(tmp_path):
    rng = random.Random(20210402)
    alphabet = "一二三十、（）()1.．：:，。；省厅负责牵头配合单位等年月底前\n\r附件 " + "".join(
        map(chr, range(32, 127))
    )
    target = tmp_path / "r.txt"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        with contextlib.suppress(PolicyParseError):
            parse_text(text)
        target.write_bytes(rng.randbytes(rng.randint(0, 300)))
        with contextlib.suppress(PolicyParseError):
            parse_file(target)


def test_random_unit_notations_keep_units_as_written():
    # Any jumble of the unit notations parses, and every unit it names stands in the text.
    rng = random.Random(20261201)
    pieces = ["牵头单位：", "配合单位：", "责任单位:", "省发改委", "省財政廳", "（", "）", "牵头"]
    pieces += ["配合", "负责", "，", "、", "；", "。", "\n", " ", "2022年底前", "等", "各有关部门"]
    for _ in range(300):
        tail = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        text = "某省关于推进某项工作的实施意见\n（2021年4月2日）\n一、任务\n（一）做好工作。" + tail
        try:
            policy = parse_text(text)
        except PolicyParseError:
            continue
        for item in policy.items:
            roles = [u.role for u in item.units]
            assert all(u.as_written and u.as_written in text for u in item.units)
            assert not roles or "lead" in roles
