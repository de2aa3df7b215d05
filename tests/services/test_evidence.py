"""The evidence store: content addressing, limits, type sniffing, names, re-hashing and the index."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile

import pytest
from sqlalchemy import func, select

from duban.errors import Invalid, NotFound, TooLarge
from duban.models import AuditEvent, Evidence
from duban.services.evidence import EvidenceCorrupt, EvidenceStore, local_file, record_evidence
from duban.services.evidence_type import neutralise_filename, sniff_content_type
from tests.workspace import make_assignment, make_department, make_policy, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    return EvidenceStore(tmp_path / "evidence", max_bytes=4096)


def test_put_is_content_addressed_and_read_only(store):
    blob = store.put(io.BytesIO(PDF), filename="report.pdf")
    path = store.path_of(blob.sha256)
    assert blob.sha256 == hashlib.sha256(PDF).hexdigest()
    assert path.parent.name == blob.sha256[:2] and path.name == blob.sha256
    assert path.read_bytes() == PDF
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert (blob.size, blob.content_type) == (len(PDF), "application/pdf")
    again = store.put(io.BytesIO(PDF), filename="other-name.pdf")
    assert again == blob
    assert list((store.root / "incoming").iterdir()) == []


def test_too_large_stops_and_leaves_nothing(store):
    with pytest.raises(TooLarge) as info:
        store.put(io.BytesIO(PNG + b"\x00" * 5000), filename="big.png")
    assert "MB" in info.value.message
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == []


@pytest.mark.parametrize(
    ("data", "name", "mime"),
    [
        (PDF, "x.bin", "application/pdf"),
        (PNG, "photo.exe", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32, "a.jpg", "image/jpeg"),
        (zip_bytes({"a.txt": b"hi"}), "a.zip", "application/zip"),
        (
            zip_bytes({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"}),
            "report.zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            zip_bytes({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<w/>"}),
            "t.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text"}),
            "t.odt",
            "application/vnd.oasis.opendocument.text",
        ),
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 600, "old.xls", "application/vnd.ms-excel"),
    ],
)
def test_type_is_sniffed_from_content(tmp_path, data, name, mime):
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sniff_content_type(path, name) == mime


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00" + b"\x00" * 200,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 200,
        b"#!/bin/sh\nrm -rf /\n",
        b"just some text",
        b"PK\x03\x04 not really a zip",
    ],
)
def test_executables_and_unknown_types_are_refused(store, data):
    with pytest.raises(Invalid):
        store.put(io.BytesIO(data), filename="report.pdf")
    assert not any(p.is_file() for p in store.root.rglob("*"))


def test_empty_file_is_refused(store):
    with pytest.raises(Invalid, match="空"):
        store.put(io.BytesIO(b""), filename="a.pdf")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\报告.pdf", "报告.pdf"),
        ('a"b;\r\nSet-Cookie: x.pdf', "a_b___Set-Cookie_ x.pdf"),
        ("...", "evidence"),
        ("", "evidence"),
        (".htaccess", "htaccess"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_filenames_are_neutralised(raw, clean):
    assert neutralise_filename(raw) == clean


def test_open_verified_rehashes(store):
    blob = store.put(io.BytesIO(PNG), filename="a.png")
    with store.open_verified(blob.sha256) as handle:
        assert handle.read() == PNG
    path = store.path_of(blob.sha256)
    path.chmod(0o644)
    path.write_bytes(PNG + b"tampered")
    with pytest.raises(EvidenceCorrupt):
        store.open_verified(blob.sha256)
    with pytest.raises(NotFound):
        store.open_verified("0" * 64)
    with pytest.raises(NotFound):
        store.open_verified("../../etc/passwd")


def test_the_folder_store_hands_out_its_own_verified_file(store):
    blob = store.put(io.BytesIO(PDF), filename="a.pdf")
    assert store.local_path(blob.sha256) == store.path_of(blob.sha256)
    with local_file(store, blob.sha256) as path:
        assert path == store.path_of(blob.sha256) and path.read_bytes() == PDF
    path = store.path_of(blob.sha256)
    path.chmod(0o644)
    path.write_bytes(PDF + b"tampered")
    with pytest.raises(EvidenceCorrupt):
        store.local_path(blob.sha256)
    with pytest.raises(EvidenceCorrupt), local_file(store, blob.sha256):
        pass
    with pytest.raises(NotFound):
        store.local_path("0" * 64)


def test_record_is_insert_only_and_idempotent(session, store):
    dept = make_department(session)
    assignment = make_assignment(session, policy=make_policy(session), department=dept)
    user = make_user(session, "staff", dept)
    first = record_evidence(
        session=session,
        store=store,
        assignment_id=assignment.id,
        user_id=user.id,
        actor="张三",
        filename="../进展.pdf",
        source=io.BytesIO(PDF),
    )
    again = record_evidence(
        session=session,
        store=store,
        assignment_id=assignment.id,
        user_id=user.id,
        actor="张三",
        filename="copy.pdf",
        source=io.BytesIO(PDF),
    )
    assert again.id == first.id
    assert (first.filename, first.size, first.content_type) == (
        "进展.pdf",
        len(PDF),
        "application/pdf",
    )
    assert session.scalar(select(func.count()).select_from(Evidence)) == 1
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.assignment_id == assignment.id)
    ).all()
    assert [(e.kind, e.data["evidence_id"], e.actor_label) for e in events] == [
        ("evidence_uploaded", first.id, "张三")
    ]
