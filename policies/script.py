"""Fold Traditional Chinese to Simplified, keeping every character at its position."""

from __future__ import annotations

from functools import cache
from typing import Any

import opencc


@cache
def _converter() -> Any:
    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """Return `text` in Simplified script, with the same length and positions."""
    converted: str = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(_fold_char(c) for c in text)


@cache
def _fold_char(char: str) -> str:
    converted: str = _converter().convert(char)
    return converted if len(converted) == 1 else char
