"""Uploads that pretend: extensions bound to the sniffed type, invisible characters, huge archives."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile

import pytest

from duban.errors import Invalid
from duban.services.evidence import EvidenceStore, record_evidence
from duban.services.evidence_type import MAX_ARCHIVE_ENTRIES, sniff_content_type
from tests.workspace import make_assignment, make_department, make_policy

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + b"\x00" * 32
OLE = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 600
ENTRIES_OF_THE_REPORT = 1_150_000


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def many_entries_zip(count: int) -> bytes:
    """Return a zip64 whose central directory lists `count` empty members (built in bytes)."""
    local = b"PK\x03\x04" + b"\x00" * 26
    entry = struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
    )
    directory = (entry + b"a") * count
    offset = len(local)
    end64 = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(directory), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return local + directory + end64 + locator + end


@pytest.fixture
def assignment(session):
    dept = make_department(session)
    return make_assignment(session, policy=make_policy(session), department=dept)


def upload(session, tmp_path, assignment, name: str, data: bytes):
    store = EvidenceStore(tmp_path / "evidence", max_bytes=64 * 1024 * 1024)
    return record_evidence(
        session=session,
        store=store,
        assignment_id=assignment.id,
        user_id=None,
        actor="张三",
        filename=name,
        source=io.BytesIO(data),
    )


@pytest.mark.parametrize(
    ("name", "data", "stored"),
    [
        ("report.hta", PDF, "report.pdf"),
        ("photo.js", GIF, "photo.gif"),
        ("tool.jar", zip_bytes({"META-INF/MANIFEST.MF": b"Main-Class: X\n"}), "tool.zip"),
        ("invoice\u202efdp.exe", PDF, "invoicefdp.pdf"),
        ("a\u200bb\u2066c\u2029.pdf", PDF, "abc.pdf"),
        ("扫描件", PDF, "扫描件.pdf"),
        ("2026.06 汇报", PDF, "2026.06 汇报.pdf"),
        ("报告.PDF", PDF, "报告.PDF"),
        ("old.xls", OLE, "old.xls"),
        (
            "notes.docm",
            zip_bytes({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"}),
            "notes.docx",
        ),
    ],
)
def test_the_stored_name_follows_the_content(session, tmp_path, assignment, name, data, stored):
    assert upload(session, tmp_path, assignment, name, data).filename == stored


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("setup.msi", OLE),
        ("mail.msg", OLE),
        (
            "macro.docm",
            zip_bytes(
                {
                    "[Content_Types].xml": b"<x/>",
                    "word/document.xml": b"<w/>",
                    "word/vbaProject.bin": b"\x00" * 16,
                }
            ),
        ),
        ("many.zip", zip_bytes({f"f{n}.txt": b"" for n in range(MAX_ARCHIVE_ENTRIES + 1)})),
    ],
)
def test_installers_macros_and_crowded_archives_are_refused(
    session, tmp_path, assignment, name, data
):
    with pytest.raises(Invalid):
        upload(session, tmp_path, assignment, name, data)


def test_a_zip_of_a_million_entries_is_refused_cheaply(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(many_entries_zip(ENTRIES_OF_THE_REPORT))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(Invalid, match="压缩包内文件过多"):
            sniff_content_type(path, "bomb.zip")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5 and peak < 2 * 1024 * 1024, (elapsed, peak)


def test_a_modest_archive_is_still_read(tmp_path):
    path = tmp_path / "ok.zip"
    path.write_bytes(many_entries_zip(100))
    assert sniff_content_type(path, "ok.zip") == "application/zip"
