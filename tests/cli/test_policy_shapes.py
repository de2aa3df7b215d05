"""`duban policy parse` and `import` read .docx, PDF and HTML files; a scan is one stderr line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from duban.services.export import CJK_FACE_SC, CJK_FONT
from tests.cli.test_policy_commands import JILIN, assert_one_line_failure, policy_rows, run
from tests.policies import shapes


def _without_spans(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_spans(v) for k, v in value.items() if k != "span"}
    if isinstance(value, list):
        return [_without_spans(v) for v in value]
    return value


def _parse_json(path: Path, tmp_path: Path) -> Any:
    proc = run(
        "policy", "parse", path, "--json", db_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    return _without_spans(json.loads(proc.stdout))


def test_parse_docx_and_pdf_give_the_text_s_json(tmp_path: Path) -> None:
    text = JILIN.read_text(encoding="utf-8")
    docx_file = tmp_path / "jilin.docx"
    docx_file.write_bytes(shapes.to_docx(text))
    pdf_file = tmp_path / "jilin.pdf"
    pdf_file.write_bytes(shapes.to_pdf(text, font=CJK_FONT, face=CJK_FACE_SC))
    expected = _parse_json(JILIN, tmp_path)
    assert len(expected["items"]) == 29
    assert _parse_json(docx_file, tmp_path) == expected
    # Wrapped PDF lines are rejoined; bodies then match once blanks are ignored.
    from_pdf = json.dumps(_parse_json(pdf_file, tmp_path), ensure_ascii=False)
    assert "".join(from_pdf.split()) == "".join(json.dumps(expected, ensure_ascii=False).split())


def test_parse_scanned_pdf_is_one_line(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(shapes.scanned_pdf())
    proc = run(
        "policy", "parse", scan, "--json", db_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path
    )
    assert_one_line_failure(proc)
    assert "没有文字层" in proc.stderr and "OCR" in proc.stderr


def test_parse_pdf_named_docx_is_one_line(tmp_path: Path) -> None:
    wrong = tmp_path / "notice.docx"
    wrong.write_bytes(shapes.scanned_pdf())
    proc = run("policy", "parse", wrong, db_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path)
    assert_one_line_failure(proc)
    assert ".docx" in proc.stderr


def test_import_html_page_stores_the_policy(tmp_path: Path) -> None:
    page = tmp_path / "jilin.htm"
    page.write_bytes(
        shapes.to_html(JILIN.read_text(encoding="utf-8"), charset="gb2312", codec="gb18030")
    )
    url = f"sqlite:///{tmp_path}/h.sqlite3"
    proc = run(
        "policy", "import", page, "--key", "jilin", "--no-start", db_url=url, data_dir=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert policy_rows(url) == (1, 1, 29, 132)
