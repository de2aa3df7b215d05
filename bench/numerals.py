"""Chinese numerals for the generated documents of the bench and the drill."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """Return 1..999 as a Chinese numeral (一, 十二, 一百零五)."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = f"{DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (DIGITS[ones] if ones else "")
