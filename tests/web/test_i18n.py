"""Pure i18n rules: Accept-Language parsing, script conversion, Shanghai time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import opencc
import pytest

from web.i18n import MESSAGES, from_accept_language, shanghai, t, to_script

S2T = opencc.OpenCC("s2t")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-TW", "zh-TW"),
        ("zh-Hant-HK,zh;q=0.5", "zh-TW"),
        ("en-US,zh-HK;q=0.9,zh-CN;q=0.8", "zh-TW"),
        ("zh-CN,zh-TW;q=0.4", "zh-CN"),
        ("zh-TW;q=0.2,zh-CN;q=0.9", "zh-CN"),
        ("en-US,fr", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language(header, expected):
    assert from_accept_language(header) == expected


def test_traditional_conversion_keeps_mainland_words():
    """Characters are converted, words are not: no Taiwan phrasing in a mainland document."""
    assert to_script("用户管理", "zh-TW") == "用戶管理"
    assert to_script("省扶贫办", "zh-TW") == "省扶貧辦"
    assert to_script("省扶贫办", "zh-CN") == "省扶贫办"
    assert to_script("项目 支持 对象", "zh-TW") == "項目 支持 對象"
    assert "稽核" not in to_script("审核", "zh-TW")
    assert t("error.throttled", "zh-TW", minutes=15) == "登錄失敗次數過多，請 15 分鐘後再試"


def test_every_message_converts():
    """Each Simplified-only character of every interface string is converted, in place.

    A character is Simplified-only where OpenCC's s2t changes it on its own. The test fails
    for a conversion that does nothing, drops or adds characters, or leaves any to convert.
    """
    converted = 0
    for key, text in MESSAGES.items():
        shown = t(key, "zh-TW")
        assert len(shown) == len(text), key  # characters, not words: nothing rewritten
        for simplified, traditional in zip(text, shown, strict=True):
            if S2T.convert(simplified) != simplified:
                assert traditional != simplified, (key, simplified)
                converted += 1
        assert S2T.convert(shown) == shown, key  # nothing Simplified-only is left
    assert converted > 200  # the strings are Chinese: many characters had to change


def test_shanghai_time():
    assert shanghai(datetime(2024, 12, 31, 16, 30, tzinfo=UTC)) == "2025-01-01 00:30"
    assert shanghai(date(2025, 1, 1)) == "2025-01-01"
    assert shanghai(None) == "—"
