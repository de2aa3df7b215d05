"""Every input shape reaches the parser as the same text: .docx, PDF, HTML, legal-database exports."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF

from duban.services.export import CJK_FACE_SC, CJK_FONT
from policies.formats import extract_text
from policies.model import ParsedPolicy
from policies.parse import parse_text
from tests.policies import shapes
from tests.policies.conftest import DOCUMENTS, JILIN, NOTATION_DOCUMENTS, TABLE_NOTICE

_BLANK_RE = re.compile(r"\s+")


def reading(parsed: ParsedPolicy) -> Any:
    """The parse without positions: names, roles, numbers, titles, bodies (blanks ignored)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "span"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return _BLANK_RE.sub("", value) if isinstance(value, str) else value

    return strip(parsed.to_json())


def build(shape: str, text: str, font: Path) -> tuple[bytes, str]:
    """Return the bytes and file name of `text` written in `shape`."""
    if shape == "docx":
        return shapes.to_docx(text), "policy.docx"
    if shape == "pdf":
        return shapes.to_pdf(text, font=font), "policy.pdf"
    if shape == "pdf-opentype":
        # The OpenType (CFF) face as fpdf2 embeds it: read through PDFium's text runs.
        return shapes.to_pdf(text, font=CJK_FONT, face=CJK_FACE_SC), "policy.pdf"
    if shape == "html-utf8":
        return shapes.to_html(text), "policy.html"
    if shape == "mhtml":
        return shapes.to_mhtml(text), "policy.mht"
    if shape == "html-gbk":
        # Sites declare GB2312 and serve GBK; characters beyond GBK need its superset.
        try:
            return shapes.to_html(text, charset="gb2312", codec="gbk"), "policy.htm"
        except UnicodeEncodeError:
            return shapes.to_html(text, charset="gb2312", codec="gb18030"), "policy.htm"
    parsed = parse_text(text)
    issued = parsed.issued.strftime("%Y.%m.%d") if parsed.issued else ""
    return shapes.to_export(text, title=parsed.title, issued=issued), "policy.txt"


SHAPES = ["docx", "pdf", "pdf-opentype", "html-utf8", "html-gbk", "mhtml", "export"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.stem)
def test_each_shape_parses_like_the_text(doc: Path, shape: str, cjk_font: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    data, name = build(shape, text, cjk_font)
    extracted = extract_text(data, name=name)
    assert reading(parse_text(extracted)) == reading(parse_text(text))


@pytest.mark.parametrize("shape", ["docx", "pdf", "pdf-opentype", "html-utf8", "html-gbk"])
def test_tables_become_one_line_per_row(shape: str, cjk_font: Path) -> None:
    data, name = build(shape, TABLE_NOTICE, cjk_font)
    extracted = extract_text(data, name=name).splitlines()
    rows = [line for line in TABLE_NOTICE.splitlines() if shapes.table_row(line)]
    assert [line for line in extracted if line.endswith(" |")] == rows
    assert reading(parse_text("\n".join(extracted))) == reading(parse_text(TABLE_NOTICE))


def test_word_list_numbers_are_written_out() -> None:
    text = JILIN.read_text(encoding="utf-8")
    data = shapes.to_docx_numbered(text)
    body = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")
    assert "(二十九)" not in body and "二十九" not in body  # the markers are list numbers only
    extracted = extract_text(data, name="numbered.docx")
    assert extracted.splitlines() == text.splitlines()
    assert reading(parse_text(extracted)) == reading(parse_text(text))


def test_site_chrome_is_dropped() -> None:
    extracted = extract_text(shapes.to_html(TABLE_NOTICE), name="page.html")
    for chrome in ("首页", "政务公开", "网站标识码", "相关链接", "打印本页", "menu", "margin"):
        assert chrome not in extracted
    assert extracted.splitlines()[0] == TABLE_NOTICE.splitlines()[0]


def test_pdf_page_furniture_is_dropped(cjk_font: Path) -> None:
    text = JILIN.read_text(encoding="utf-8")
    extracted = extract_text(shapes.to_pdf(text, font=cjk_font), name="jilin.pdf")
    assert shapes.PAGE_HEADER not in extracted
    assert not re.search(r"— \d+ —", extracted)
    # Paragraphs wrapped over many lines and pages come back as the text's lines.
    assert extracted.splitlines() == [line for line in text.splitlines() if line.strip()]


def test_pdf_fonts_pdfminer_cannot_decode_are_read_with_pdfium() -> None:
    # fpdf2 embeds the OpenType (CFF) face with its own encoding CMap, which pdfminer cannot map.
    data = shapes.to_pdf(TABLE_NOTICE, font=CJK_FONT, face=CJK_FACE_SC)
    extracted = extract_text(data, name="notice.pdf")
    assert "建设智慧停车平台" in extracted
    assert parse_text(extracted).title == parse_text(TABLE_NOTICE).title


def test_export_header_fills_what_the_body_lacks() -> None:
    body = "\n".join(TABLE_NOTICE.splitlines()[1:]).replace("2024年3月1日\n", "")
    title = TABLE_NOTICE.splitlines()[0]
    data = shapes.to_export(body, title=title, issued="2024-03-01")
    extracted = extract_text(data, name="export.txt")
    parsed = parse_text(extracted)
    assert parsed.title == title
    assert str(parsed.issued) == "2024-03-01"
    assert "【" not in extracted and shapes.EXPORT_HEADER in extracted  # the parser drops repeats
    assert [i.title for i in parsed.items] == [i.title for i in parse_text(TABLE_NOTICE).items]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_plain_text_comes_back_unchanged(encoding: str) -> None:
    text = JILIN.read_text(encoding="utf-8")
    assert extract_text(text.encode(encoding), name="jilin.txt") == text


def test_borderless_pdf_columns_stay_apart(cjk_font: Path) -> None:
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(cjk_font))
    pdf.add_page()
    pdf.set_font("cjk", size=11)
    rows = [line.split(" | ") for line in TABLE_NOTICE.splitlines() if shapes.table_row(line)]
    for row in rows:
        for x, value in zip((10, 25, 95, 125, 175), [c.rstrip(" |") for c in row], strict=True):
            pdf.set_x(x)
            pdf.cell(0 if x == 175 else 20, 8, value)
        pdf.ln(9)
    lines = extract_text(bytes(pdf.output()), name="borderless.pdf").splitlines()
    assert [re.split(r"\s{2,}", line) for line in lines] == [
        [c.rstrip(" |") for c in row] for row in rows
    ]


_WRAPPING_TABLE = """某市2024年重点任务分工表
现将重点任务分工如下，请各单位抓好落实。
序号 | 重点任务 | 牵头单位 | 完成时限 |
1 | 推进城市污水管网建设和改造，全年新建改造管网一百二十公里，消除城区黑臭水体 | 市水务局 | 2024年底 |
2 |
建设公园。
新建口袋公园二十个。 |
市园林局 |
2024年9月 |
3 | Build a smart parking platform linking every public car park in the city | 市城管局 | 2024年6月 |
"""


@pytest.mark.parametrize("font", ["truetype", "opentype"])
def test_pdf_cells_keep_their_breaks_and_rejoin_their_wrapping(font: str, tmp_path: Path) -> None:
    # The long cells wrap over several lines in the PDF; the second row's task cell breaks on
    # purpose after its title. Only the character positions tell the two apart.
    if font == "truetype":
        subset = shapes.cjk_ttf(tmp_path / "cjk.ttf", _WRAPPING_TABLE + shapes.PAGE_HEADER)
        data = shapes.to_pdf(_WRAPPING_TABLE, font=subset)
    else:
        data = shapes.to_pdf(_WRAPPING_TABLE, font=CJK_FONT, face=CJK_FACE_SC)
    assert extract_text(data, name="table.pdf") == _WRAPPING_TABLE.rstrip("\n")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("doc", NOTATION_DOCUMENTS, ids=lambda p: p.stem)
def test_each_notation_family_reads_alike_in_every_shape(
    doc: Path, shape: str, cjk_font: Path
) -> None:
    # NOTATIONS.md's families, in the invented documents the family tests check reading by
    # reading, must survive the trip through every input shape unchanged.
    text = doc.read_text(encoding="utf-8")
    data, name = build(shape, text, cjk_font)
    assert reading(parse_text(extract_text(data, name=name))) == reading(parse_text(text))
