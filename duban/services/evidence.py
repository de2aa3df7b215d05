"""Evidence: the content-addressed file store, type sniffing and the insert-only index."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import puremagic
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from duban.errors import Conflict, Invalid, NotFound, TooLarge
from duban.models import AuditEvent, Evidence

CHUNK = 1024 * 1024
MAX_EVIDENCE_PER_SUBMISSION = 50
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
OLE_TYPES = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
OOXML_TYPES = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ODF_TYPES = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
SNIFFED_TYPES = {
    "application/pdf": "application/pdf",
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "image/tiff": "image/tiff",
    "image/x-ms-bmp": "image/bmp",
    "image/bmp": "image/bmp",
}
ALLOWED_LABEL = "PDF、Office 文档（Word/Excel/PowerPoint/WPS 兼容格式）、图片（PNG/JPEG/GIF/WebP/TIFF/BMP）或 ZIP 压缩包"
FORBIDDEN_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]')


class EvidenceCorrupt(Conflict):
    """A stored file no longer matches its SHA-256: never served."""

    code = "evidence_corrupt"


@dataclass(frozen=True)
class StoredBlob:
    """A file now in the store: its address, size and sniffed content type."""

    sha256: str
    size: int
    content_type: str


def neutralise_filename(name: str, *, max_chars: int = 120) -> str:
    """Return a display name without paths, control or header-breaking characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = FORBIDDEN_NAME_CHARS.sub("_", name).strip().lstrip(".").strip()
    if len(name) > max_chars:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        keep = max_chars - len(ext) - (1 if ext else 0)
        name = (stem if ext else name)[:keep] + (f".{ext}" if ext else "")
    return name or "evidence"


def _zip_type(path: Path) -> str:
    """Tell an Office Open XML or OpenDocument file from a plain zip by its members."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                odf = archive.read("mimetype").decode("ascii", "replace").strip()
                if odf in ODF_TYPES:
                    return odf
    except (zipfile.BadZipFile, OSError) as exc:
        raise Invalid("压缩文件已损坏，无法识别。") from exc
    if "[Content_Types].xml" in names:
        for prefix, mime in OOXML_TYPES.items():
            if any(n.startswith(prefix) for n in names):
                return mime
    return "application/zip"


def sniff_content_type(path: Path, filename: str) -> str:
    """Return the MIME type of the file by its content, or raise Invalid if not allowed."""
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(ZIP_MAGICS):
        return _zip_type(path)
    if head.startswith(OLE_MAGIC):
        return OLE_TYPES.get(Path(filename).suffix.lower(), "application/msword")
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        if match.mime_type in SNIFFED_TYPES:
            return SNIFFED_TYPES[match.mime_type]
    raise Invalid(f"不支持的文件类型：只接受{ALLOWED_LABEL}。")


class EvidenceStore:
    """Content-addressed, immutable evidence files under one root folder."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        """Keep the root folder and the per-file size limit."""
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, sha256: str) -> Path:
        """Return where the file with this hash lives (sha256[:2]/sha256)."""
        if not SHA256_RE.match(sha256):
            raise NotFound("证据文件不存在。")
        return self.root / sha256[:2] / sha256

    def _spool(self, source: BinaryIO, temp: Path) -> tuple[str, int]:
        """Copy `source` into `temp`, hashing and counting; stop as soon as it is too large."""
        digest = hashlib.sha256()
        size = 0
        with temp.open("wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    limit_mb = self.max_bytes / (1024 * 1024)
                    raise TooLarge(f"文件过大：单个文件不能超过 {limit_mb:g} MB。")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise Invalid("文件为空。")
        return digest.hexdigest(), size

    def put(self, source: BinaryIO, *, filename: str) -> StoredBlob:
        """Store the stream (temp file, fsync, atomic rename, read-only) and return its address."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        temp = incoming / f"{uuid.uuid4().hex}.part"
        try:
            sha256, size = self._spool(source, temp)
            content_type = sniff_content_type(temp, filename)
            final = self.path_of(sha256)
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                temp.chmod(0o444)
                os.replace(temp, final)
                _fsync_dir(final.parent)
        finally:
            temp.unlink(missing_ok=True)
        return StoredBlob(sha256=sha256, size=size, content_type=content_type)

    def open_verified(self, sha256: str) -> BinaryIO:
        """Open a stored file after re-hashing it; a mismatch raises EvidenceCorrupt."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound("证据文件不存在。")
        handle = path.open("rb")
        digest = hashlib.sha256()
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            handle.close()
            raise EvidenceCorrupt("证据文件校验失败（内容与登记的 SHA-256 不符），已拒绝下载。")
        handle.seek(0)
        return handle


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable by syncing its directory."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def record_evidence(
    *,
    session: Session,
    store: EvidenceStore,
    assignment_id: int,
    user_id: int | None,
    actor: str,
    filename: str,
    source: BinaryIO,
) -> Evidence:
    """Store a file and insert its Evidence row and audit event; a repeat returns the same row."""
    blob = store.put(source, filename=filename)
    return index_evidence(
        session=session,
        blob=blob,
        assignment_id=assignment_id,
        user_id=user_id,
        actor=actor,
        filename=filename,
    )


def index_evidence(
    *,
    session: Session,
    blob: StoredBlob,
    assignment_id: int,
    user_id: int | None,
    actor: str,
    filename: str,
) -> Evidence:
    """Insert the Evidence row and audit event of a stored file, unless this assignment has it."""
    existing = _find(session, assignment_id, blob.sha256)
    if existing is not None:
        return existing
    evidence = Evidence(
        assignment_id=assignment_id,
        sha256=blob.sha256,
        size=blob.size,
        filename=neutralise_filename(filename),
        content_type=blob.content_type,
        uploaded_by_id=user_id,
    )
    try:
        with session.begin_nested():
            session.add(evidence)
            session.flush()
    except IntegrityError:
        # Another request stored the same file for this assignment at the same moment.
        found = _find(session, assignment_id, blob.sha256)
        if found is None:
            raise
        return found
    _audit_upload(session, evidence, user_id=user_id, actor=actor)
    return evidence


def _find(session: Session, assignment_id: int, sha256: str) -> Evidence | None:
    """Return the evidence row of this file on this assignment, if any."""
    stmt = select(Evidence).where(
        Evidence.assignment_id == assignment_id, Evidence.sha256 == sha256
    )
    return session.scalars(stmt).one_or_none()


def _audit_upload(session: Session, evidence: Evidence, *, user_id: int | None, actor: str) -> None:
    """Add the timeline event of an upload."""
    session.add(
        AuditEvent(
            key=f"evidence:{evidence.assignment_id}:{evidence.sha256}",
            kind="evidence_uploaded",
            actor_id=user_id,
            actor_label=actor,
            assignment_id=evidence.assignment_id,
            data={
                "evidence_id": evidence.id,
                "filename": evidence.filename,
                "sha256": evidence.sha256,
                "size": evidence.size,
            },
        )
    )
    session.flush()


def get_evidence(*, session: Session, evidence_id: int, assignment_id: int) -> Evidence:
    """Return one evidence row of an assignment, or raise NotFound."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.assignment_id != assignment_id:
        raise NotFound("证据文件不存在。")
    return evidence


def list_evidence(*, session: Session, assignment_id: int) -> list[Evidence]:
    """Return an assignment's evidence, oldest first."""
    stmt = select(Evidence).where(Evidence.assignment_id == assignment_id).order_by(Evidence.id)
    return list(session.scalars(stmt))


def check_evidence_ids(
    *, session: Session, assignment_id: int, evidence_ids: list[int]
) -> list[int]:
    """Return the ids deduplicated in order, or raise Invalid if one is not this assignment's."""
    ids = list(dict.fromkeys(evidence_ids))
    if len(ids) > MAX_EVIDENCE_PER_SUBMISSION:
        raise Invalid(f"一次报送最多附 {MAX_EVIDENCE_PER_SUBMISSION} 个证据文件。")
    if not ids:
        return ids
    stmt = select(Evidence.id).where(Evidence.assignment_id == assignment_id, Evidence.id.in_(ids))
    found = set(session.scalars(stmt))
    if missing := [i for i in ids if i not in found]:
        raise Invalid(f"证据文件不属于本事项或不存在：{', '.join(map(str, missing))}。")
    return ids
