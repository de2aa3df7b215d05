"""The two scripts: text is written in Simplified and converted to Traditional for zh-TW readers.

One converter for pages, API messages and mail alike (web.i18n re-exports these).
"""

from __future__ import annotations

import opencc

SIMPLIFIED = "zh-CN"
TRADITIONAL = "zh-TW"
LOCALES = (SIMPLIFIED, TRADITIONAL)

# Character-level conversion (s2t): a mainland document in Traditional script keeps its words
# (项目 is 項目, not Taiwan's 專案). Taiwan phrasing (s2tw, s2twp) would rewrite the policy text.
_converter = opencc.OpenCC("s2t")
_simplifier = opencc.OpenCC("t2s")


def to_script(text: str, locale: str | None) -> str:
    """Return `text` in the script of `locale` (Simplified text is converted for zh-TW).

    Not cached: pages carry per-render tokens, and the converter is fast enough (well under a
    millisecond per thousand characters) to convert each page as it is rendered.
    """
    if locale == TRADITIONAL and text:
        return str(_converter.convert(text))
    return text


def to_simplified(text: str) -> str:
    """Return `text` in Simplified script (a Traditional document read in Simplified)."""
    return str(_simplifier.convert(text)) if text else text
