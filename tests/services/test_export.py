"""Exports: the xlsx opens with openpyxl with the expected sheets and rows; the PDF renders with pdftoppm."""

from __future__ import annotations

import io
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib import font_manager
from openpyxl import load_workbook
from PIL import Image

from duban.domain import AssignmentRole
from duban.errors import Unavailable
from duban.scoring import RULE_LABELS, PeriodOutcome, compile_scores
from duban.services.audit import ChainHead
from duban.services.export import ScoreSheet, report_pdf, scores_xlsx
from duban.services.target import TARGET_EXPORT_HEADER
from policies.rubric import load_rubric

DUE = datetime(2026, 11, 10, tzinfo=UTC)
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def backend() -> str:
    """Pure rendering: no database needed beyond the default."""
    return "sqlite"


def outcome(
    code: str, name: str, *, late_days: int = 0, levels: tuple[int, ...] = (), n: int = 0
) -> PeriodOutcome:
    """Return one approved period of a department."""
    return PeriodOutcome(
        assignment_id=n,
        department_code=code,
        department_name=name,
        official=f"head-{code}",
        task_number=5 + n,
        role=AssignmentRole.LEAD,
        period_index=0,
        period_label="第1期",
        due_at=DUE,
        original_due_at=DUE,
        closed_at=DUE + timedelta(days=late_days) - timedelta(hours=1),
        approved=True,
        rating=4,
        escalation_levels=levels,
        returns=1 if levels else 0,
        extensions_granted=0,
        historic=False,
        event_ids=(10 * n + 1, 10 * n + 2),
    )


def sheet() -> ScoreSheet:
    """Return three ranked departments of 2026Q4."""
    outcomes = [
        outcome("fpb", "省乡村振兴局", n=1),
        outcome("czt", "省财政厅", late_days=4, levels=(1,), n=2),
        outcome("wjw", "省卫生健康委员会", late_days=12, levels=(1, 2, 3), n=3),
    ]
    rows = compile_scores(outcomes, load_rubric(), as_of=AS_OF, period="2026Q4")
    titles = {n: f"（{n}）任务{n}" for n in (1, 2, 3)}
    return ScoreSheet("2026Q4", "department", "2026-11-28", AS_OF, rows, titles)


def test_xlsx_has_summary_rule_sheets_and_ledger():
    wb = load_workbook(io.BytesIO(scores_xlsx(sheet())))
    assert wb.sheetnames == ["汇总", *RULE_LABELS.values(), "明细", "指标", "说明"]
    summary = list(wb["汇总"].iter_rows(values_only=True))
    assert summary[0][:5] == ("排名", "代码", "单位", "总分", "期次数")
    assert [(r[0], r[1], r[3]) for r in summary[1:]] == [
        (1, "fpb", 11.0),
        (2, "czt", 7.5),
        (3, "wjw", -0.5),
    ]
    ladder = list(wb["督办升级"].iter_rows(values_only=True))[1:]
    assert [(r[0], r[6]) for r in ladder][:2] == [
        ("czt", "督办升级至第1级（部门负责人）"),
        ("wjw", "督办升级至第1级（部门负责人）"),
    ]
    assert len(ladder) == 4
    ledger = list(wb["明细"].iter_rows(values_only=True))[1:]
    assert len(ledger) == sum(len(r.lines) for r in sheet().rows)
    assert ledger[0][7] == "11,12"
    # A reader's names, not internal ids: the task by its number as written and its title.
    assert ledger[0][2] == "（1）任务1"


def test_pdf_renders_with_chinese_text_and_chart(tmp_path: Path):
    pdf = report_pdf(sheet())
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and pages[0].stat().st_size > 10_000
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "2026Q4 政策任务督办考核报告" in text and "省卫生健康委员会" in text


def test_exports_cite_the_audit_chain_head_they_were_computed_at(tmp_path: Path):
    cited = replace(sheet(), chain=ChainHead(4711, "ab" * 32))
    rows = load_workbook(io.BytesIO(scores_xlsx(cited)))["说明"].iter_rows(values_only=True)
    info = {str(r[0]): r[1] for r in rows}
    assert info["审计链位置"] == f"第 4711 条事件，哈希 {'ab' * 32}"
    path = tmp_path / "cited.pdf"
    path.write_bytes(report_pdf(cited))
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "审计链位置" in text and "4711" in text


def test_pdf_of_an_empty_period():
    empty = ScoreSheet("2025Q1", "official", "2026-11-28", AS_OF, [])
    assert report_pdf(empty).startswith(b"%PDF")


def test_pdf_without_the_cjk_font_is_a_clear_refusal(tmp_path: Path):
    with pytest.raises(Unavailable, match="fonts-noto-cjk") as caught:
        report_pdf(sheet(), font=tmp_path / "missing.ttc")
    assert caught.value.status == 503


def big_sheet() -> ScoreSheet:
    """Return 35 departments, the last five below zero (as many as a province has)."""
    outcomes = [
        outcome(
            f"d{i}", f"省第{i}厅", late_days=(i * 3) % 40, levels=tuple(range(1, 1 + i % 4)), n=i
        )
        for i in range(35)
    ]
    rows = compile_scores(outcomes, load_rubric(), as_of=AS_OF, period="2026Q4")
    assert sum(r.score < 0 for r in rows) == 5
    return ScoreSheet("2026Q4", "department", "2026-11-28", AS_OF, rows)


@pytest.fixture
def font_cache_without_noto() -> Iterator[None]:
    """Matplotlib's font list as a machine has it when its cache was built before Noto came."""
    saved = list(font_manager.fontManager.ttflist)
    font_manager.fontManager.ttflist = [f for f in saved if "CJK" not in f.name]
    font_manager.FontManager._findfont_cached.cache_clear()  # type: ignore[attr-defined]
    yield
    font_manager.fontManager.ttflist = saved
    font_manager.FontManager._findfont_cached.cache_clear()  # type: ignore[attr-defined]


def _pages(pdf: bytes, folder: Path) -> tuple[list[Path], list[str]]:
    """Render the PDF with pdftoppm and read each page's text with pdftotext."""
    path = folder / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(folder / "page")], check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return sorted(folder.glob("page*.png")), text.split("\f")


def test_chart_draws_chinese_without_noto_in_the_font_cache(font_cache_without_noto):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" fails the test
        assert report_pdf(sheet()).startswith(b"%PDF")


def test_pdf_layout_first_page_chart_every_row_and_headed_table_pages(tmp_path: Path):
    pngs, texts = _pages(report_pdf(big_sheet()), tmp_path)
    first = Image.open(pngs[0]).convert("RGB")
    colors = [(n, c) for n, c in first.getcolors(maxcolors=1 << 20) or [] if isinstance(c, tuple)]
    inked = sum(n for n, rgb in colors if sum(rgb) < 600)
    assert inked > 0.1 * first.width * first.height  # the chart is on the first page
    # The departments below zero are in the chart: red bars.
    red = sum(n for n, (r, g, b) in colors if r > 150 and g < 90 and b < 90)
    assert red > 200
    table_pages = [t for t in texts if "省第" in t]
    assert table_pages and all("排名" in t and "总分" in t for t in table_pages)
    for t in texts:  # a header never sits alone at the foot of a page
        if "排名" in t:
            assert t.split("排名", 1)[1].count("省第") >= 1
    assert all(f"省第{i}厅" in "".join(texts) for i in range(35))


def test_xlsx_lists_targets_with_their_actuals():
    cells = ["（1）任务1", "省乡村振兴局", "每年不低于300个", "每年认定300个", 300, "个", "不低于"]
    cells += ["每年", "2026-12-31", "第1期", "2026-03-31", 120, 240, "否"]
    base = sheet()
    wb = load_workbook(io.BytesIO(scores_xlsx(replace(base, targets=[cells]))))
    rows = list(wb["指标"].iter_rows(values_only=True))
    assert rows[0] == tuple(TARGET_EXPORT_HEADER)
    assert rows[0][:3] == ("任务", "单位", "指标") and rows[0][-3:] == (
        "实际值",
        "趋势预计值",
        "预计达标",
    )
    assert rows[1] == tuple(cells)
