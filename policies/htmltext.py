"""Read the text of an HTML page saved from a site: blocks one per line, data tables row by row.

The page's own charset (a BOM, <meta charset>, or http-equiv) is honoured, with GB2312/GBK read as
their superset GB18030; undeclared pages are tried as UTF-8 and then GB18030. Scripts, styles and
navigation are dropped. A table whose rows hold tables, or a single cell, is layout, not data.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

import lxml.html
from lxml import etree

from policies.model import PolicyParseError

_HTML_START_RE = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta)\b",
    re.I | re.S,
)
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_GB_NAMES = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "hz-gb-2312", "gb18030"}
_DROP = {
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "iframe",
    "select",
    "button",
    "head",
    "footer",
    "aside",
}
_BLOCKS = {
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "article", "main", "header", "blockquote", "pre", "center",
    "table", "tbody", "thead", "tfoot", "caption", "form", "fieldset", "address", "hr", "title",
}  # fmt: skip
_CJK_BREAK_RE = re.compile(
    r"(?<=[\u3000-\u9fff\uff00-\uffef])[ \t\r\n]*\n[ \t\r\n]*(?=[\u3000-\u9fff\uff00-\uffef])"
)
_SPACE_RE = re.compile(r"[ \t\r\n\f\v]+")
MAX_ROW_CHARS = 4000


def looks_like_html(data: bytes) -> bool:
    """Return whether the bytes open like an HTML page (after a BOM, comments, an XML declaration)."""
    head = data[:4096]
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            head = head[len(bom) :].decode(_bom_codec(bom), "ignore").encode("ascii", "ignore")
    return _HTML_START_RE.match(head) is not None


def html_text(data: bytes, *, name: str) -> str:
    """Return the visible text of an HTML page; raise PolicyParseError when there is none."""
    markup = _XML_DECL_RE.sub("", decode_html(data, name=name))
    parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise PolicyParseError(
            f"网页中没有文字 / the HTML page holds no text ({exc}): {name}"
        ) from exc
    lines = [line for line in _lines(root) if line]
    if not lines:
        raise PolicyParseError(f"网页中没有文字 / the HTML page holds no text: {name}")
    return "\n".join(lines)


def decode_html(data: bytes, *, name: str) -> str:
    """Decode by BOM, then the declared charset, then UTF-8, then GB18030."""
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            return data[len(bom) :].decode(_bom_codec(bom), "replace")
    declared = _META_CHARSET_RE.search(data[:8192])
    tries = ["utf-8", "gb18030"]
    if declared:
        label = declared.group(1).decode("ascii", "ignore").lower()
        tries.insert(0, "gb18030" if label in _GB_NAMES else label)
    for codec in tries:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    raise PolicyParseError(
        f"网页编码无法识别（不是 UTF-8 或 GB18030） / HTML is not UTF-8 or GB18030 text: {name}"
    )


def _bom_codec(bom: bytes) -> str:
    return "utf-8" if bom == codecs.BOM_UTF8 else "utf-16"


def _lines(root: etree._Element) -> Iterator[str]:
    """Walk the tree without recursion (pages can nest deeply), breaking lines at blocks."""
    current: list[str] = []
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            if node.tag in _BLOCKS or node.tag == "tr":
                yield _flush(current)
            if node.tail and node is not root:
                current.append(node.tail)
            continue
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _DROP or not tag:
            if node.tail:
                current.append(node.tail)
            continue
        if tag in _BLOCKS:
            yield _flush(current)
        if tag == "br":
            yield _flush(current)
        if tag == "tr" and _is_data_row(node):
            yield _flush(current)
            yield _row_line(node)
            if node.tail:
                current.append(node.tail)
            continue
        if node.text:
            current.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    yield _flush(current)


def _flush(current: list[str]) -> str:
    text = _SPACE_RE.sub(" ", _CJK_BREAK_RE.sub("", "".join(current))).strip()
    current.clear()
    return text


def _cells(row: etree._Element) -> list[etree._Element]:
    return [c for c in row if c.tag in ("td", "th")]


def _is_data_row(row: etree._Element) -> bool:
    """A row of two or more cells, none holding a table, of a modest length."""
    cells = _cells(row)
    if len(cells) < 2 or any(c.find(".//table") is not None for c in cells):
        return False
    return sum(len("".join(c.itertext())) for c in cells) <= MAX_ROW_CHARS


def _row_line(row: etree._Element) -> str:
    cells = [" ".join(line for line in _lines(cell) if line) for cell in _cells(row)]
    return " | ".join(cells) + " |" if any(cells) else ""
