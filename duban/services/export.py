"""Exports of compiled scores: an xlsx workbook (summary, one sheet per rule, ledger) and a PDF report."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import matplotlib
from fpdf import FPDF
from matplotlib import font_manager
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image

from duban.errors import Unavailable
from duban.scoring import CHINA_TZ, RULE_LABELS, GroupBy, ScoreLine, ScoreRow
from duban.services.audit import ChainHead
from duban.services.report_template import AnswerLine
from duban.services.target import TARGET_EXPORT_HEADER

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FACE_SC = 2  # face order in the Noto collection: JP, KR, SC, TC, HK
CJK_FAMILY = "Noto Sans CJK SC"
BY_LABEL = {"department": "单位", "official": "责任人"}
ROW_MM, HEADER_MM, CHART_MM = 6.5, 7.0, 180.0
# A table starts on a new page unless its header and this many rows fit below it.
MIN_TABLE_ROWS = 3
_FONT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ScoreSheet:
    """What an export shows: the ranked rows of one period and how they were made."""

    period: str
    by: GroupBy
    rubric_version: str
    as_of: datetime
    rows: list[ScoreRow]
    # Each task as a reader knows it (number as written and title), by assignment id.
    task_titles: dict[int, str] = field(default_factory=dict)
    # The targets sheet: each target of the scored assignments with its actuals (指标).
    targets: list[list[object]] = field(default_factory=list)
    # The answers of the reports submitted in the period to their tasks' templates (issue 15).
    answers: list[AnswerLine] = field(default_factory=list)
    # Where the audit chain stood when the scores were computed: a reader can check the export
    # against `duban audit verify` (which prints the head it reached).
    chain: ChainHead | None = None


def chain_text(chain: ChainHead | None) -> str:
    """Return the chain head an export was computed at, as a reader checks it."""
    return f"第 {chain.seq} 条事件，哈希 {chain.hash}" if chain else "—"


def _stamp(at: datetime) -> str:
    """Return Beijing time as text."""
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _header(ws: Worksheet, names: list[str]) -> None:
    """Write a bold header row and freeze it."""
    ws.append(names)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"


def _line_cells(sheet: ScoreSheet, row: ScoreRow, line: ScoreLine) -> list[object]:
    """Return one ledger line as cells."""
    events = ",".join(str(i) for i in line.event_ids)
    rule = RULE_LABELS.get(line.rule, line.rule)
    return [
        row.key,
        row.name,
        sheet.task_titles.get(line.assignment_id, "—"),
        line.period_index + 1,
        rule,
        line.points,
        line.reason,
        events,
    ]


LINE_HEADER = ["代码", "名称", "任务", "期次", "规则", "分值", "原因", "来源事件"]


def scores_xlsx(sheet: ScoreSheet) -> bytes:
    """Return a workbook: a summary row per department, a sheet per rule, and the full ledger."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总"
    rules = list(RULE_LABELS)
    _header(ws, ["排名", "代码", BY_LABEL[sheet.by], "总分", "期次数", *RULE_LABELS.values()])
    for row in sheet.rows:
        per_rule = {t.rule: round(t.points, 2) for t in row.breakdown}
        ws.append(
            [
                row.rank,
                row.key,
                row.name,
                row.score,
                row.periods,
                *(per_rule.get(r, 0) for r in rules),
            ]
        )
    for rule, label in RULE_LABELS.items():
        rs = wb.create_sheet(label)
        _header(rs, LINE_HEADER)
        for row in sheet.rows:
            for line in row.lines:
                if line.rule == rule:
                    rs.append(_line_cells(sheet, row, line))
    ledger = wb.create_sheet("明细")
    _header(ledger, LINE_HEADER)
    for row in sheet.rows:
        for line in row.lines:
            ledger.append(_line_cells(sheet, row, line))
    targets = wb.create_sheet("指标")
    _header(targets, TARGET_EXPORT_HEADER)
    for cells in sheet.targets:
        targets.append(cells)
    if sheet.answers:
        _answer_sheet(wb.create_sheet("报送表单"), sheet)
    info = wb.create_sheet("说明")
    for pair in (
        ("考核周期", sheet.period),
        ("评分细则版本", sheet.rubric_version),
        ("计算时点（北京时间）", _stamp(sheet.as_of)),
        ("审计链位置", chain_text(sheet.chain)),
    ):
        info.append(list(pair))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _answer_sheet(ws: Worksheet, sheet: ScoreSheet) -> None:
    """Fill a sheet with every answer of the period's reports, one per line."""
    _header(ws, ["单位", "任务", "期次", "报送时间", "项目", "填报内容"])
    for a in sheet.answers:
        task = sheet.task_titles.get(a.assignment_id) or f"第{a.item_number}项"
        row = [a.department, task, a.period_index + 1, _stamp(a.submitted_at), a.label, a.value]
        ws.append(row)


def _chart(sheet: ScoreSheet) -> bytes:
    """Return a PNG bar chart of every row's total (negative ones too), with CJK labels."""
    rows = sheet.rows
    # A bare Figure renders with Agg and touches no pyplot global state (safe in threads).
    fig = Figure(figsize=(7.5, max(2.5, 0.24 * len(rows) + 1.2)), dpi=160)
    ax = fig.add_subplot()
    names = [f"{r.rank}. {r.name}" for r in rows][::-1]
    values = [r.score for r in rows][::-1]
    colors = ["#b23a3a" if v < 0 else "#2f6f9f" for v in values]
    bars = ax.barh(names, values, color=colors)
    ax.bar_label(bars, labels=[f"{v:g}" for v in values], padding=3, fontsize=7)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel("总分")
    ax.set_title(f"{sheet.period} 考核得分（{BY_LABEL[sheet.by]}）")
    ax.tick_params(axis="y", labelsize=7 if len(rows) > 30 else 8)
    ax.margins(x=0.15)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _font_setup(font: Path) -> None:
    """Register the CJK font file with matplotlib and use it: never rely on its font cache."""
    with _FONT_LOCK:
        # Added only when absent, so the font list stays bounded however many reports run.
        if not any(f.fname == str(font) for f in font_manager.fontManager.ttflist):
            font_manager.fontManager.addfont(str(font))
    matplotlib.rcParams["font.family"] = [CJK_FAMILY, "sans-serif"]
    matplotlib.rcParams["axes.unicode_minus"] = False


def _table_header(pdf: FPDF, sheet: ScoreSheet, widths: list[int]) -> None:
    """Write the table's header row (again at the top of every page the table runs onto)."""
    pdf.set_fill_color(230, 236, 242)
    names = ["排名", BY_LABEL[sheet.by], "总分", *RULE_LABELS.values()]
    for w, text in zip(widths, names, strict=True):
        pdf.cell(w, HEADER_MM, text, border=1, align="C", fill=True)
    pdf.ln()


def _table(pdf: FPDF, sheet: ScoreSheet) -> None:
    """Write the ranking table with the points of each rule; a header never ends a page."""
    rules = list(RULE_LABELS)
    widths = [12, 48, 18] + [17] * len(rules)
    pdf.set_font("cjk", size=9)
    if pdf.will_page_break(HEADER_MM + MIN_TABLE_ROWS * ROW_MM):
        pdf.add_page()
    _table_header(pdf, sheet, widths)
    for row in sheet.rows:
        if pdf.will_page_break(ROW_MM):
            pdf.add_page()
            _table_header(pdf, sheet, widths)
        per_rule = {t.rule: t.points for t in row.breakdown}
        cells = [str(row.rank), row.name[:16], f"{row.score:g}"]
        cells += [f"{per_rule[r]:g}" if r in per_rule else "—" for r in rules]
        for w, text in zip(widths, cells, strict=True):
            pdf.cell(w, ROW_MM, text, border=1, align="L" if w == 48 else "C")
        pdf.ln()


def _place_chart(pdf: FPDF, png: bytes) -> None:
    """Put the chart below the title, shrunk to the room left on the page (no blank page)."""
    with Image.open(io.BytesIO(png)) as img:
        px_w, px_h = img.size
    room = pdf.h - pdf.b_margin - pdf.get_y()
    w = min(CHART_MM, room * px_w / px_h)
    x = pdf.l_margin + (pdf.epw - w) / 2
    pdf.image(io.BytesIO(png), x=x, w=w, h=w * px_h / px_w)


def report_pdf(sheet: ScoreSheet, *, font: Path = CJK_FONT) -> bytes:
    """Return the PDF report: title, rubric and time, a bar chart and the ranking table."""
    if not font.is_file():
        raise Unavailable(
            f"生成 PDF 报告需要中文字体（Debian 软件包 fonts-noto-cjk），服务器缺少 {font}"
        )
    _font_setup(font)
    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=str(font), collection_font_number=CJK_FACE_SC)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.cell(
        0, 12, f"{sheet.period} 政策任务督办考核报告", align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("cjk", size=10)
    meta = f"考核对象：{BY_LABEL[sheet.by]}　评分细则版本：{sheet.rubric_version}　计算时点：{_stamp(sheet.as_of)}（北京时间）"
    pdf.cell(0, 8, meta, align="C", new_x="LMARGIN", new_y="NEXT")
    if sheet.chain is not None:
        pdf.set_font("cjk", size=8)
        pdf.cell(
            0, 6, f"审计链位置：{chain_text(sheet.chain)}", align="C", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("cjk", size=10)
    pdf.ln(2)
    if sheet.rows:
        _place_chart(pdf, _chart(sheet))
        pdf.ln(4)
        _table(pdf, sheet)
    else:
        pdf.cell(0, 10, "本周期暂无可计分的期次。", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
