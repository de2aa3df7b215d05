"""The benchmark runs end to end at a tiny size and writes every section of its report."""

from __future__ import annotations

import re

from bench import gc_pauses, pages, parsing, web_burst
from bench.__main__ import Sizes, run, scoring_section, synthetic_text
from bench.numerals import chinese
from policies.parse import parse_text


def test_synthetic_policy_has_the_asked_assignments():
    parsed = parse_text(synthetic_text(120, per_item=50))
    assert [len(item.units) for item in parsed.items] == [50, 50, 20]
    assert [chinese(n) for n in (1, 10, 15, 101, 110, 200)] == [
        "一",
        "十",
        "十五",
        "一百零一",
        "一百一十",
        "二百",
    ]


async def test_bench_report_at_n_20():
    sizes = Sizes(assignments=20, updates=10, http_actions=5)
    lines = await run(20, 10, scoring=False, sizes=sizes, sections=frozenset({"workflows", "http"}))
    text = "\n".join(lines)
    assert "## (a) Import and workflow starts" in text
    assert "## (b) Update round trips" in text
    assert "| synthetic policy: AssignmentWorkflows | 20/20 |" in text
    assert "| bare Temporal workflow | 20/20 |" in text
    children = "| bare workflow as a child, 50 per bare parent (duban's shape)"
    assert f"{children}, before duban's | 20/20 |" in text
    assert f"{children}, after | 20/20 |" in text
    # Two pairs of 10: cached, and not run since their start (the bare ones 10-19).
    assert "| duban `acknowledge` Update (validated, recorded) | cached | 10 | 0 |" in text
    assert "| bare signal (call returned) | cached after it | 10 | 0 |" in text
    assert "| duban `acknowledge` Update | not run since their start | 10 | 0 |" in text
    assert "| bare Update of duban's durable shape | not run since their start | 10 | 0 |" in text
    starts = r"all their workflows over all their seconds\):\n\*\*\d+\.\d\d\*\* \(target ≥ 0.9\)"
    assert re.search(starts, text)
    assert re.search(r"so against either \d+\.\d\d\nto \d+\.\d\d\)\.", text)
    assert re.search(r"bare Update, cached:\n\*\*\d+\.\d\d\*\* \(target ≥ 0.8\)", text)
    durable = "| bare Update after a scheduled no-op activity (duban's durable shape) | cached |"
    assert f"{durable} 10 | 0 |" in text
    ratio = r"\*\*\d+\.\d\d\*\* \(target ≥ 0.8\)"
    both = rf"first write must be\), cached:\n{ratio}.*\n.*not run since their start:\n{ratio}"
    assert re.search(both, text)
    assert "## (g) Human actions over HTTP" in text
    for action in ("acknowledge", "submit", "approve"):
        assert re.search(
            rf"^\| {action} \| 5 \| 0 \| [\d.]+ \| \d+ \| [\d.]+ \| \d+ \| [\d.]+ \| \d+ "
            r"\| \*\*[\d.]+\*\* \((met|BELOW TARGET)\) \| \*\*[\d.]+\*\* \((met|BELOW TARGET)\) \|$",
            text,
            re.M,
        ), action
        for what in (f"{action} over HTTP", "bare Update", "durable bare Update"):
            cost = rf"^\| {what} \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$"
            assert re.search(cost, text, re.M), what


async def test_pages_section_times_every_page_at_two_sizes_in_a_process_of_its_own():
    lines: list[str] = ["before"]
    await pages.run_apart(lines, sizes=(60, 120), repeat=2)
    assert lines[0] == "before" and lines[1] == "## (f) Pages at scale on PostgreSQL"
    text = "\n".join(lines)
    assert "## (f) Pages at scale on PostgreSQL" in text
    assert "| assignment | 60 | 120 |" in text
    for name in ("staff inbox", "assignment page", "supervisor board, filtered", "review queue",
                 "escalations", "cockpit", "assessment ranking", "one department's ledger",
                 "policy page"):  # fmt: skip
        row = re.search(
            rf"^\| {re.escape(name)} \| `[^`]+` \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \| 200 \| [\d.]+ \| (met|MISSED) \|$",
            text,
            re.M,
        )
        assert row, name
    assert "Slowest statement at 120 assignments" in text and "Execution Time" in text


async def test_gc_section_times_collections_with_and_without_freeze():
    lines: list[str] = []
    await gc_pauses.run(lines, n=20, acks=5)
    text = "\n".join(lines)
    assert "## (h) Worker GC pauses at scale" in text
    assert re.search(r"^\| no freeze \| 20,000 \| \d+ \| \d+ .*\| \d+ \|$", text, re.M)
    frozen = r"^\| gc.freeze\(\) after start-up \| {} \| \d+ \| \d+ .*\| \d+ \|$"
    assert re.search(frozen.format("20,000"), text, re.M)
    assert re.search(frozen.format("2,000"), text, re.M)


def test_parsing_section_times_every_document_and_item_size():
    lines: list[str] = []
    parsing.run(lines, sizes=(10, 20))
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| text")]
    documents = 1 + len(list((parsing.POLICIES / "genre").glob("*.txt")))
    assert len(rows) == documents + 2 + 2 + 2 + 2
    assert rows[0].startswith("| jilin-2021-consolidation-revitalization |")
    assert rows[-7].startswith("| one item of 20 sentences with units |")
    assert rows[-5].startswith("| one item of 20 sentences with targets |")
    assert rows[-3].startswith("| a table of 20 rows |")
    assert rows[-1].startswith("| one list of 20 names |")


async def test_web_burst_section_answers_every_request():
    lines: list[str] = []
    await web_burst.run(lines, n=3)
    text = "\n".join(lines)
    assert "## (e) Web bursts: sign-ins and uploads" in text
    assert "| 3 concurrent sign-ins (`POST /api/v1/auth/token`, Argon2) | 3 |" in text
    assert "| 3× 200 |" in text and "| 3× 201 |" in text


async def test_scoring_section_runs_in_a_process_of_its_own():
    lines: list[str] = ["before"]
    await scoring_section(lines)
    assert lines[:2] == ["before", "## Scoring: compile assignment-periods (best of 3)"]
    for n in ("10,000", "50,000", "100,000", "200,000"):
        row = rf"^\| {n} \| [\d,]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$"
        assert re.search(row, "\n".join(lines), re.M), n
