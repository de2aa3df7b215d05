"""Chinese and Arabic numerals of section and item markers (一, 二十九, 一百零一, 12)."""

from __future__ import annotations

DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS)


def chinese_to_int(text: str) -> int:
    """Return the value of a Chinese (or Arabic) numeral; raise ValueError if it is none."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    if not text or any(c not in DIGITS and c not in UNITS for c in text):
        raise ValueError(f"not a numeral: {text!r}")
    total, digit = 0, None
    for char in text:
        if char in DIGITS:
            digit = DIGITS[char]
            continue
        total += (1 if digit is None else digit) * UNITS[char]
        digit = None
    return total + (digit or 0)
