"""Read the text of an HTML page saved from a site: blocks one per line, data tables row by row.

The page's own charset (a BOM, <meta charset>, or http-equiv) is honoured, with GB2312/GBK read as
their superset GB18030; undeclared pages are tried as UTF-8 and then GB18030. Scripts, styles and
navigation are dropped. A table whose rows hold tables, or a single cell, is layout, not data.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import re
from collections.abc import Iterator

import lxml.html
from lxml import etree

from policies.model import PolicyParseError
from policies.rowtext import row_lines

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


def html_text(data: bytes, *, name: str, charset: str | None = None) -> str:
    """Return the visible text of an HTML page; raise PolicyParseError when there is none."""
    markup = _XML_DECL_RE.sub("", decode_html(data, name=name, charset=charset))
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


def decode_html(data: bytes, *, name: str, charset: str | None = None) -> str:
    """Decode by BOM, then the charset sent with it, the declared one, UTF-8, GB18030."""
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            return data[len(bom) :].decode(_bom_codec(bom), "replace")
    declared = _META_CHARSET_RE.search(data[:8192])
    labels = [charset or "", declared.group(1).decode("ascii", "ignore") if declared else ""]
    tries = [_codec(label) for label in labels if label] + ["utf-8", "gb18030"]
    for codec in tries:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    raise PolicyParseError(
        f"网页编码无法识别（不是 UTF-8 或 GB18030） / HTML is not UTF-8 or GB18030 text: {name}"
    )


def _codec(label: str) -> str:
    """Return the codec for a declared charset, reading GB2312/GBK as their superset GB18030."""
    label = label.strip().lower()
    return "gb18030" if label in _GB_NAMES else label


def _bom_codec(bom: bytes) -> str:
    return {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16-le"}.get(bom, "utf-16-be")


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
    return "\n".join(row_lines([list(_lines(cell)) for cell in _cells(row)]))


def looks_like_mhtml(data: bytes) -> bool:
    """Return whether the bytes are a web archive (MHTML: a MIME message holding the page)."""
    head = data[:4096].lower()
    return b"mime-version:" in head and b"multipart/related" in head


def mhtml_text(data: bytes, *, name: str) -> str:
    """Return the visible text of the first HTML part of a web archive (.mht)."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() != "text/html":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip():
            return html_text(payload, name=name, charset=part.get_content_charset())
    raise PolicyParseError(f"网页存档中没有网页 / the web archive holds no HTML page: {name}")
