"""Build a policy text in the other shapes documents arrive in: .docx, PDF, HTML, legal-database export.

Lines of the form `a | b | c |` are written as real table rows (Word table, ruled PDF table, HTML
<table>), so extracting them must give the same lines back.
"""

from __future__ import annotations

import io
import quopri
import re
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from html import escape
from pathlib import Path
from typing import Any

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from fpdf import FPDF

from duban.services.export import CJK_FACE_SC, CJK_FONT

PAGE_HEADER = "政策文件汇编（内部资料）"
EXPORT_HEADER = "法律法规数据库 打印版"
_CJK_RE = re.compile(r"[\u4e00-\u9fff]{2}")
_ROW_RE = re.compile(r"^(.*\S) \|$")
_ROW_NUMBER_RE = re.compile(r"^\d{1,3}$")


def table_row(line: str) -> list[str] | None:
    """Return the cells of a `a | b |` line, or None for a paragraph."""
    m = _ROW_RE.match(line)
    return m.group(1).split(" | ") if m else None


def groups(text: str) -> list[str | list[list[str]]]:
    """Split a text's lines into paragraphs and runs of table rows.

    A row may be written one cell per line under its header (`12 |`, `建设…，` `实现…。 |`, …):
    those lines are the cells of one table row, as the table a Word or web page draws; a cell's
    own lines stay apart (a line break inside the cell). A lone cell not opening a row is a
    merged row across the table (`一、智慧城市 |`). A tab-separated line right after a table is
    one more of its rows.
    """
    out: list[str | list[list[str]]] = []
    cells: list[str] = []  # the cells of a row written one per line, so far
    held: list[str] = []  # lines of the cell being written, before its closing `|`
    for line in text.splitlines():
        row = table_row(line)
        table = out[-1] if out and isinstance(out[-1], list) else None
        if row is None and table is not None and not (cells or held) and "\t" in line:
            row = line.split("\t")  # a row typed with tabs goes on with the table above it
        if table is not None and (cells or held) and (row is None or len(row) == 1):
            if row is None:
                held.append(line)
                continue
            cells.append("\n".join([*held, row[0]]))
            held = []
            if len(cells) == len(table[0]):
                table.append(cells)
                cells = []
        elif row is not None and table is not None and len(row) == 1 and len(table[0]) > 1:
            if _ROW_NUMBER_RE.match(row[0]):
                cells = [row[0]]
            else:
                table.append(row)
        elif row is None:
            out.append(line)
        elif table is not None:
            table.append(row)
        else:
            out.append([row])
    return out


def to_docx(text: str) -> bytes:
    """Return a .docx: each line a paragraph, each run of row lines a Word table."""
    document = docx.Document()
    for group in groups(text):
        if isinstance(group, str):
            document.add_paragraph(group)
            continue
        table = document.add_table(rows=0, cols=len(group[0]))
        for row in group:
            cells = table.add_row().cells
            if len(row) == 1 and len(cells) > 1:  # a merged row across the table
                cells = [cells[0].merge(cells[-1])]
            for cell, value in zip(cells, row, strict=False):
                cell.text = value
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


_LIST_LEVELS = (
    re.compile(r"^[一二三四五六七八九十]+、"),
    re.compile(r"^\([一二三四五六七八九十]+\)"),
)
_NUMBERING = (
    '<w:abstractNum {ns} w:abstractNumId="90">'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
    '<w:lvlText w:val="%1、"/></w:lvl>'
    '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
    '<w:lvlRestart w:val="0"/><w:lvlText w:val="(%2)"/></w:lvl>'
    "</w:abstractNum>"
)


def to_docx_numbered(text: str) -> bytes:
    """Return a .docx whose 一、 and (一) markers are Word list numbers, not typed text."""
    document = docx.Document()
    numbering = document.part.numbering_part.element
    abstract = parse_xml(_NUMBERING.format(ns=nsdecls("w")))
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(
        parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>')
    )
    for line in text.splitlines():
        level = next((i for i, r in enumerate(_LIST_LEVELS) if r.match(line)), None)
        if level is None:
            document.add_paragraph(line)
            continue
        paragraph = document.add_paragraph(_LIST_LEVELS[level].sub("", line))
        # The stubs type a pPr's children as pPr; a w:numPr element is what Word expects here.
        num_pr: Any = parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'
        )
        paragraph._p.get_or_add_pPr().append(num_pr)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def to_html(text: str, *, charset: str = "utf-8", codec: str | None = None) -> bytes:
    """Return a government-site page around the text: chrome, scripts, wrapped source lines."""
    body = []
    for group in groups(text):
        if isinstance(group, str):
            # Source lines broken between Chinese characters, as site editors save them.
            cut = _cjk_cut(group)
            head, tail = escape(group[:cut], quote=False), escape(group[cut:], quote=False)
            body.append(f"<p style='text-indent:2em'>&nbsp;&nbsp;{head}\n  {tail}</p>")
        else:
            span = len(group[0])
            rows = "".join(
                "<tr>" + "".join(f"<td><span>{_cell_html(c)}</span></td>" for c in row) + "</tr>"
                if len(row) > 1
                else f"<tr><td colspan='{span}'>{_cell_html(row[0])}</td></tr>"
                for row in group
            )
            body.append(f"<table border='1'><tbody>{rows}</tbody></table>")
    page = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>政策文件</title><style>p {{ margin: 0 }}</style>
<script>var menu = "一、首页 二、政务公开";</script></head>
<body><nav><ul><li><a href="/">首页</a></li><li>政务公开</li></ul></nav>
<div class="article"><div class="TRS_Editor">{"".join(body)}</div></div>
<aside>相关链接</aside><footer>网站标识码 0000000000 主办单位：某某办公厅</footer>
<script>document.write("打印本页");</script></body></html>"""
    return page.encode(codec or charset)


def _cell_html(value: str) -> str:
    return "<br>".join(escape(part, quote=False) for part in value.split("\n"))


def _cjk_cut(line: str) -> int:
    """Return a place near the middle between two Chinese characters (0 when there is none)."""
    cjk = [i for i in range(1, len(line)) if _CJK_RE.match(line[i - 1 : i + 1])]
    return min(cjk, key=lambda i: abs(i - len(line) // 2), default=0)


def to_mhtml(text: str) -> bytes:
    """Return the page as a browser's web archive (.mht): MIME, GB2312 declared, quoted-printable."""
    page = to_html(text, charset="gb2312", codec="gb18030")
    archive = MIMEMultipart("related", type="text/html")
    part = MIMENonMultipart("text", "html", charset="gb2312")
    part.set_payload(quopri.encodestring(page).decode("ascii"))
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part["Content-Location"] = "http://www.example.gov.cn/zwgk/notice.html"
    archive.attach(part)
    archive["Subject"] = "notice"
    return archive.as_bytes()


def to_export(text: str, *, title: str, issued: str, lines_per_page: int = 8) -> bytes:
    """Return a legal-database export: 【字段】 header, 【正文】, page headers and numbers, CRLF."""
    lines = text.splitlines()
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]
    out = [
        f"【法规标题】{title}",
        "【发布部门】某某人民政府",
        f"【发布日期】{issued}",
        "【时效性】现行有效",
        "【效力级别】地方规范性文件",
        "【正文】",
    ]
    for number, page in enumerate(pages, start=1):
        out += [EXPORT_HEADER, *page, f"第 {number} 页 共 {len(pages)} 页"]
    out.append("【引证码】ABC.123456")
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def cjk_ttf(path: Path, text: str) -> Path:
    """Write a TrueType subset of the Noto CJK font (as Word's PDFs embed TrueType fonts)."""
    font = TTFont(str(CJK_FONT), fontNumber=CJK_FACE_SC)
    options = subset.Options()
    options.desubroutinize = True
    options.layout_features = []
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + "0123456789第页共 |")
    subsetter.subset(font)
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = font.getGlyphOrder(), {}
    for name in glyf.glyphOrder:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"], font["loca"] = glyf, newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements", "maxSizeOfInstructions",
                 "maxComponentElements"):  # fmt: skip
        setattr(maxp, attr, 1 if attr == "maxZones" else 0)
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"
    font.save(str(path))
    return path


class _Pages(FPDF):
    """An A4 document with a running header and a `— N —` page number, as official documents print."""

    def header(self) -> None:
        self.set_font("cjk", size=9)
        self.cell(0, 6, PAGE_HEADER, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("cjk", size=9)
        self.cell(0, 8, f"— {self.page_no()} —", align="C")


def to_pdf(text: str, *, font: Path, face: int = 0) -> bytes:
    """Return a text-layer PDF: wrapped paragraphs, ruled tables, headers and page numbers."""
    pdf = _Pages(format="A4")
    pdf.add_font("cjk", fname=str(font), collection_font_number=face)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    for group in groups(text):
        pdf.set_font("cjk", size=12)
        if isinstance(group, str):
            pdf.multi_cell(0, 7, group, new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.set_font("cjk", size=10)
        with pdf.table(first_row_as_headings=False, line_height=6) as table:
            for row in group:
                cells = table.row()
                for value in row:
                    cells.cell(value, colspan=len(group[0]) if len(row) == 1 else 1)
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """Return a PDF whose one page is only a picture (no text layer)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(image).rectangle((40, 40, 360, 160), outline="black", width=4)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=180)
    return bytes(pdf.output())
