"""Read a policy file safely: size, type and encoding checks with one-line messages."""

from __future__ import annotations

import re
from pathlib import Path

from policies.model import PolicyParseError

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def read_policy_file(path: str | Path, *, max_bytes: int) -> str:
    """Return the text of a policy file of any accepted shape (txt, docx, pdf, html); raise PolicyParseError."""
    from policies.formats import extract_text  # formats reads plain text with this module

    p = Path(path)
    try:
        if not p.exists():
            raise PolicyParseError(f"文件不存在 / file not found: {p}")
        if p.is_dir():
            raise PolicyParseError(f"这是一个目录 / is a directory, not a file: {p}")
        size = p.stat().st_size
        if size > max_bytes:
            raise PolicyParseError(
                f"文件过大 / file too large: {size} bytes (limit {max_bytes}): {p}"
            )
        with p.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise PolicyParseError(f"无法读取文件 / cannot read file: {p}: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise PolicyParseError(f"文件过大 / file too large (limit {max_bytes} bytes): {p}")
    return extract_text(data, name=str(p))


def decode_policy_bytes(data: bytes, *, name: str = "<bytes>") -> str:
    """Decode UTF-8 (with or without BOM) or clean GB18030 Chinese; refuse binary and garbage."""
    if not data.strip():
        raise PolicyParseError(f"文件为空 / file is empty: {name}")
    if b"\x00" in data:
        raise PolicyParseError(f"不是文本文件 / binary file (NUL bytes), not text: {name}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _gb18030(data, name)
    if len(_CONTROL_RE.findall(text)) > max(2, len(text) // 1000):
        raise PolicyParseError(f"不是文本文件 / binary content, not text: {name}")
    return text


def _gb18030(data: bytes, name: str) -> str:
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    letters = [c for c in text if not c.isspace() and not c.isascii()]
    cjk = sum(1 for c in letters if _CJK_RE.match(c))
    if not text or not letters or cjk / len(letters) < 0.6:
        raise PolicyParseError(
            f"不是 UTF-8 或 GB18030 中文文本 / not UTF-8 (or GB18030 Chinese) text: {name}"
        )
    return text
