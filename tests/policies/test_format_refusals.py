"""Files that cannot be read get one PolicyParseError line saying why, in bounded time; nothing else raises."""

from __future__ import annotations

import io
import random
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from fpdf import FPDF

from policies.formats import extract_text
from policies.model import PolicyParseError
from policies.pdftext import MAX_PAGES
from tests.policies import shapes
from tests.policies.conftest import TABLE_NOTICE

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def refusal(data: bytes, name: str) -> str:
    """Return the one-line message extract_text refuses the file with."""
    with pytest.raises(PolicyParseError) as info:
        extract_text(data, name=name)
    message = str(info.value)
    assert message and "\n" not in message, message
    assert name in message
    return message


def _docx_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buf.getvalue()


def test_scanned_pdf_says_it_needs_ocr() -> None:
    message = refusal(shapes.scanned_pdf(), "scan.pdf")
    assert "没有文字层" in message and "OCR" in message


def test_mostly_scanned_pdf_is_refused(cjk_font: Path) -> None:
    text_page = FPDF()
    text_page.add_font("cjk", fname=str(cjk_font))
    text_page.add_page()
    text_page.set_font("cjk", size=12)
    text_page.cell(0, 10, "封面：某某通知")
    for _ in range(2):
        text_page.add_page()
        text_page.rect(20, 20, 100, 100)
    assert "2/3" in refusal(bytes(text_page.output()), "mixed.pdf")


def test_encrypted_pdf() -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(0, 10, "locked")
    assert "加密" in refusal(bytes(pdf.output()), "locked.pdf")


@pytest.mark.parametrize("data", [b"%PDF-1.7\n" + bytes(range(256)) * 8, b"%PDF-1.4\n%%EOF"])
def test_corrupt_pdf(data: bytes) -> None:
    assert "PDF" in refusal(data, "broken.pdf")


def test_too_many_pages_is_refused_before_reading_them() -> None:
    pdf = FPDF()
    for _ in range(MAX_PAGES + 1):
        pdf.add_page()
    data = bytes(pdf.output())
    started = time.monotonic()
    assert "页数过多" in refusal(data, "long.pdf")
    assert time.monotonic() - started < 5


def test_truncated_docx() -> None:
    data = shapes.to_docx(TABLE_NOTICE)
    assert "损坏" in refusal(data[: len(data) // 2], "cut.docx")


def test_docx_with_broken_xml() -> None:
    good = zipfile.ZipFile(io.BytesIO(shapes.to_docx(TABLE_NOTICE)))
    entries = {n: good.read(n) for n in good.namelist()}
    entries["word/document.xml"] = b"<w:document><w:body><w:p>unclosed"
    assert "损坏" in refusal(_docx_zip(entries), "bad.docx")


def test_old_word_doc_asks_for_docx() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    assert ".docx" in refusal(ole, "old.doc")
    assert "加密" in refusal(ole, "locked.docx")  # Office encrypts a .docx into this container


def test_zip_bomb_is_refused_by_declared_size() -> None:
    bomb = _docx_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b" " * (40 * 2**20)})
    assert len(bomb) < 200_000
    assert "过大" in refusal(bomb, "bomb.docx")


def test_zip_with_too_many_entries_is_refused() -> None:
    entries = {f"word/media/{i}.xml": b"x" for i in range(2500)}
    entries["word/document.xml"] = b"<w:document/>"
    assert "条目过多" in refusal(_docx_zip(entries), "many.docx")


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>t</title><script>var a = 1;</script></head><body> </body></html>",
        b"<!DOCTYPE html><html><body><nav>"
        + "首页".encode()
        + b"</nav><style>p{}</style></body></html>",
    ],
)
def test_html_without_text(page: bytes) -> None:
    assert "没有文字" in refusal(page, "empty.html")


def test_deeply_nested_html_is_bounded() -> None:
    page = (
        b"<html><body>"
        + b"<div>" * 200_000
        + "深".encode()
        + b"</div>" * 200_000
        + b"</body></html>"
    )
    started = time.monotonic()
    assert "没有文字" in refusal(page, "deep.html")
    assert time.monotonic() - started < 5


def test_html_declaring_the_wrong_charset_is_still_read() -> None:
    page = shapes.to_html(TABLE_NOTICE, charset="utf-8", codec="gb18030")
    assert "建设智慧停车平台" in extract_text(page, name="page.html")


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"%PDF-1.7\n", "notice.docx", "pdf"),
        (shapes.to_docx(TABLE_NOTICE), "notice.pdf", "docx"),
        (shapes.to_docx(TABLE_NOTICE), "notice.html", "docx"),
    ],
)
def test_content_and_name_disagree(data: bytes, name: str, says: str) -> None:
    message = refusal(data, name)
    assert f"content is {says}" in message and "扩展名" in message


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["序号", "任务"])  # type: ignore[union-attr]
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (_xlsx(), "tasks.xlsx", "Excel"),
        (_xlsx(), "tasks.docx", "Excel"),
        (PNG, "scan.png", "OCR"),
        (PNG, "scan.txt", "OCR"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "photo", "OCR"),
        (_docx_zip({"a.txt": b"x"}), "archive.zip", "zip"),
        (b"{\\rtf1\\ansi hello}", "notice.rtf", "RTF"),
    ],
)
def test_unsupported_types_say_what_they_are(data: bytes, name: str, says: str) -> None:
    assert says in refusal(data, name)


@pytest.mark.parametrize("shape", ["docx", "pdf", "html"])
def test_mangled_files_raise_nothing_else(shape: str, cjk_font: Path) -> None:
    good = {
        "docx": lambda: shapes.to_docx(TABLE_NOTICE),
        "pdf": lambda: shapes.to_pdf(TABLE_NOTICE, font=cjk_font),
        "html": lambda: shapes.to_html(TABLE_NOTICE),
    }[shape]()
    rng = random.Random(10)
    for _ in range(20):
        data = bytearray(good)
        if rng.random() < 0.5:
            data = data[: rng.randrange(len(data))]
        for _ in range(rng.randrange(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            assert extract_text(bytes(data), name=f"mangled.{shape}")
        except PolicyParseError as exc:
            assert "\n" not in str(exc)


def test_page_of_many_drawn_lines_is_read_in_bounded_time(cjk_font: Path) -> None:
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(cjk_font))
    pdf.add_page()
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 10, "某某市人民政府办公室通知", new_x="LMARGIN", new_y="NEXT")
    for i in range(20_000):
        x = 10 + (i % 190)
        pdf.line(x, 30, x + 0.5, 30 + (i % 250))
    started = time.monotonic()
    assert extract_text(bytes(pdf.output()), name="drawing.pdf") == "某某市人民政府办公室通知"
    assert time.monotonic() - started < 10


def test_web_archive_without_a_page() -> None:
    archive = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: image/png\r\n\r\nxxxx\r\n--b--\r\n"
    )
    assert "没有网页" in refusal(archive, "saved.mht")


def test_text_too_long_for_the_parser_is_refused() -> None:
    assert "too long" in refusal(("一、" + "推进工作。" * 700_000).encode("utf-8"), "long.txt")


@pytest.mark.parametrize("name", ["empty.pdf", "empty.docx", "empty.html", "empty.txt"])
def test_empty_file_of_any_type(name: str) -> None:
    assert "empty" in refusal(b" \r\n", name)
