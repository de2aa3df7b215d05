"""Formal papers as PDF: the office's red header, the number, the title and the record's facts.

The CJK font is the Noto collection the score report uses (services/export.py), embedded as a
subset, so the paper reads the same on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from duban.errors import Unavailable
from duban.services.export import CJK_FACE_SC, CJK_FONT
from duban.services.paper import CHINA

RED = (178, 34, 34)
LABEL_MM = 34
# Two em spaces: a first-line indent of two characters. Every multi_cell must end at the left
# margin: with CHAR wrapping, fpdf2 2.8 loops forever on a zero-width line instead of raising.
INDENT = "\u2003\u2003"
WRAP = WrapMode.CHAR


@dataclass(frozen=True)
class PaperContent:
    """What one paper says, in reading order; every string is already in Chinese."""

    office: str
    title: str
    number: str
    addressee: str
    paragraphs: list[str]
    facts: list[tuple[str, str]]
    # An optional table (header row first), e.g. the periods of a 办结报告.
    table: list[list[str]] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    dated: datetime | None = None


def chinese_date(at: datetime) -> str:
    """Return a Beijing-time date as an office writes it: 2026年12月2日."""
    local = at.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日"


def _header(pdf: FPDF, paper: PaperContent) -> None:
    """The red header: office name, number, a red rule, then the paper's title."""
    pdf.set_text_color(*RED)
    pdf.set_font("cjk", size=24)
    pdf.cell(0, 14, paper.office, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, paper.number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.8)
    y = pdf.get_y() + 1
    pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.ln(6)
    pdf.set_font("cjk", size=20)
    pdf.cell(0, 12, paper.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _body(pdf: FPDF, paper: PaperContent) -> None:
    """Addressee, paragraphs (indented two characters), the facts and the optional table."""
    pdf.set_font("cjk", size=12)
    if paper.addressee:
        pdf.multi_cell(0, 8, f"{paper.addressee}：", wrapmode=WRAP, new_x="LMARGIN", new_y="NEXT")
    for text in paper.paragraphs:
        pdf.multi_cell(0, 8, f"{INDENT}{text}", wrapmode=WRAP, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=11)
    if paper.facts:
        with pdf.table(
            col_widths=(LABEL_MM, pdf.epw - LABEL_MM),
            width=pdf.epw,
            first_row_as_headings=False,
            text_align=("CENTER", "LEFT"),
            wrapmode=WRAP,
            line_height=7,
            padding=2,
        ) as table:
            for label, value in paper.facts:
                table.row([label, value or "—"])
    if paper.table:
        pdf.ln(4)
        with pdf.table(
            width=pdf.epw,
            headings_style=FontFace(fill_color=(230, 236, 242)),
            text_align="CENTER",
            wrapmode=WRAP,
            line_height=7,
            padding=1.5,
        ) as table:
            for cells in paper.table:
                table.row(cells)


def _closing(pdf: FPDF, paper: PaperContent) -> None:
    """Closing lines, then the office and the date at the right."""
    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    for text in paper.closing:
        pdf.multi_cell(0, 8, f"{INDENT}{text}", wrapmode=WRAP, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(0, 8, paper.office, align="R", new_x="LMARGIN", new_y="NEXT")
    if paper.dated is not None:
        pdf.cell(0, 8, chinese_date(paper.dated), align="R", new_x="LMARGIN", new_y="NEXT")


def paper_pdf(paper: PaperContent, *, font: Path = CJK_FONT) -> bytes:
    """Return the paper as an A4 PDF with the CJK font embedded (a subset)."""
    if not font.is_file():
        raise Unavailable(
            f"生成公文需要中文字体（Debian 软件包 fonts-noto-cjk），服务器缺少 {font}"
        )
    pdf = FPDF(format="A4")
    pdf.set_title(f"{paper.title} {paper.number}")
    pdf.set_author(paper.office)
    pdf.add_font("cjk", fname=str(font), collection_font_number=CJK_FACE_SC)
    # Headings are set in the same face: bold would need a second collection file.
    pdf.add_font("cjk", style="B", fname=str(font), collection_font_number=CJK_FACE_SC)
    pdf.set_margins(25, 22, 25)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    _header(pdf, paper)
    _body(pdf, paper)
    _closing(pdf, paper)
    return bytes(pdf.output())
