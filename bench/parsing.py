"""Benchmark: parse the bundled documents and long synthetic items, against reading their lines."""

from __future__ import annotations

from pathlib import Path

from bench.timing import best_time
from policies.lines import split_lines
from policies.parse import parse_text

POLICIES = Path(__file__).resolve().parents[1] / "policies"
SIZES = (1_000, 4_000, 16_000)
HEAD = "某省关于推进某项工作的实施意见\n（2021年4月2日）\n一、任务\n（一）做好工作。"
# Every notation the unit reader meets at once: a bracket that names no unit, a labelled list.
PHRASE = "推进某项工作（含说明）。责任单位：省发改委、省财政厅。"
# Targets in every sentence: a scope, a direction, figures, a date, a quote and a condition.
TARGETS = "到2025年，全省每年新建“一站”10个，覆盖率达到95%以上，能耗下降3.5%，达到25%的，可申请。"
# A task-allocation table flattened to text, one row a line, cells split by ` | `.
TABLE_HEAD = "某市重点任务分工\n序号 | 重点任务 | 牵头单位 | 责任单位 | 完成时限\n"
ROW = "{n} | 推进某项工作，年内完成。 | 市发改委 | 市财政局、各区政府 | 2024年底\n"


def _one_list(n: int) -> str:
    """Return one labelled list of `n` names, some holding brackets of their own."""
    names = "、".join(f"某{i}局（某{i}办）" if i % 3 else f"某{i}局" for i in range(n))
    return f"（牵头单位：某局；责任单位：{names}）"


def _row(name: str, text: str) -> str:
    parse, _ = best_time(lambda: parse_text(text))
    # The floor of any parse: splitting the text into lines and folding them to Simplified.
    floor, _ = best_time(lambda: split_lines(text))
    per_100k = parse * 100_000 / len(text)
    return f"| {name} | {len(text):,} | {parse:.3f} | {per_100k:.3f} | {floor:.3f} | {parse / floor:.1f} |"


def run(report: list[str], sizes: tuple[int, ...] = SIZES) -> None:
    """Append a Markdown table of parse times (best of 3) and their ratio to reading the lines."""
    report += [
        "## Parsing: documents and long items (best of 3)",
        "",
        "| text | characters | parse (s) | per 100k characters (s) | read lines (s) | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    documents = [POLICIES / "jilin-2021-consolidation-revitalization.txt"]
    documents += sorted((POLICIES / "genre").glob("*.txt"))
    for path in documents:
        report.append(_row(path.stem, path.read_text(encoding="utf-8")))
    for n in sizes:
        report.append(_row(f"one item of {n:,} sentences with units", HEAD + PHRASE * n))
    for n in sizes:
        report.append(_row(f"one item of {n:,} sentences with targets", HEAD + TARGETS * n))
    for n in sizes:
        rows = "".join(ROW.format(n=i % 1000) for i in range(1, n + 1))
        report.append(_row(f"a table of {n:,} rows", TABLE_HEAD + rows))
    for n in sizes:
        report.append(_row(f"one list of {n:,} names", HEAD + _one_list(n)))
    report += [
        "",
        "Time per 100k characters that stays level as the item grows means the parser is linear in",
        "its length. The ratio compares the parse with reading the same lines (split and folded to",
        "Simplified) in the same run.",
        "",
    ]


if __name__ == "__main__":
    lines: list[str] = []
    run(lines)
    print("\n".join(lines))  # noqa: T201
