"""Evidence: the content-addressed file store, type sniffing and the insert-only index."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.errors import CodedConflict, Conflict, Forbidden, Invalid, NotFound, TooLarge
from duban.models import Assignment, AuditEvent, Evidence, User
from duban.rules import upload_refusal
from duban.services.assignment import visible_assignment
from duban.services.audit import record_event
from duban.services.evidence_type import sniff_content_type, stored_name

CHUNK = 1024 * 1024
MAX_EVIDENCE_PER_SUBMISSION = 50
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class EvidenceCorrupt(Conflict):
    """A stored file no longer matches its SHA-256: never served."""

    code = "evidence_corrupt"


@dataclass(frozen=True)
class StoredBlob:
    """A file now in the store: its address, size and sniffed content type."""

    sha256: str
    size: int
    content_type: str


class BlobStore(Protocol):
    """Where evidence files live: the folder below, or an S3 bucket (duban.evidence_s3)."""

    def put(self, source: BinaryIO, *, filename: str) -> StoredBlob:
        """Store the stream under its SHA-256 (once) and return its address."""
        ...

    def open_verified(self, sha256: str) -> BinaryIO:
        """Open a stored file after re-hashing it; a mismatch raises EvidenceCorrupt."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """The verified file on this machine's disk, or None when the store keeps it elsewhere."""
        ...


def spool(source: BinaryIO, temp: Path, *, max_bytes: int) -> tuple[str, int]:
    """Copy `source` into `temp`, hashing and counting; stop as soon as it is too large."""
    digest = hashlib.sha256()
    size = 0
    with temp.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"文件过大：单个文件不能超过 {max_bytes / (1024 * 1024):g} MB。")
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size == 0:
        raise Invalid("文件为空。")
    return digest.hexdigest(), size


def check_sha256(sha256: str) -> str:
    """Return a well-formed SHA-256 hex address, or raise NotFound."""
    if not SHA256_RE.match(sha256):
        raise NotFound("证据文件不存在。")
    return sha256


class EvidenceStore:
    """Content-addressed, immutable evidence files under one root folder (the embedded default)."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        """Keep the root folder and the per-file size limit."""
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, sha256: str) -> Path:
        """Return where the file with this hash lives (sha256[:2]/sha256)."""
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, source: BinaryIO, *, filename: str) -> StoredBlob:
        """Store the stream (temp file, fsync, atomic rename, read-only) and return its address."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        temp = incoming / f"{uuid.uuid4().hex}.part"
        try:
            sha256, size = spool(source, temp, max_bytes=self.max_bytes)
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

    def local_path(self, sha256: str) -> Path | None:
        """The stored file itself, after re-hashing it (a mismatch raises EvidenceCorrupt)."""
        self.open_verified(sha256).close()
        return self.path_of(sha256)


@contextmanager
def local_file(store: BlobStore, sha256: str) -> Iterator[Path]:
    """A stored file as a local path: the store's own, else a verified temporary copy."""
    if (path := store.local_path(sha256)) is not None:
        yield path
        return
    with store.open_verified(sha256) as source, tempfile.NamedTemporaryFile() as copy:
        shutil.copyfileobj(source, copy)
        copy.flush()
        yield Path(copy.name)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable by syncing its directory."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_open_for_evidence(assignment: Assignment) -> None:
    """Raise 409 `assignment_closed` if the assignment takes no more evidence (rules.upload_refusal)."""
    if (refusal := upload_refusal(assignment.state)) is not None:
        raise CodedConflict(refusal.message, code=refusal.code)


def record_evidence(
    *,
    session: Session,
    store: BlobStore,
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
        filename=stored_name(filename, blob.content_type),
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


# Who may read evidence files (docs/DESIGN.md, "Evidence readability"): the department that
# uploaded them and the supervision office that reviews them. Assessors work from outcomes
# and scores, admins from accounts: neither opens a department's files.
EVIDENCE_READERS = DEPARTMENT_ROLES | {UserRole.SUPERVISOR}


def may_read_evidence(user: User) -> bool:
    """Tell whether the user's role may open evidence files of assignments it can see."""
    return user.role in EVIDENCE_READERS


def evidence_for_download(
    *, session: Session, user: User, assignment_id: int, evidence_id: int
) -> Evidence:
    """Return a file the user may read and audit the download; 404 or 403 otherwise."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    if not may_read_evidence(user):
        raise Forbidden("证据材料仅限承办单位和督查室查阅。")
    evidence = get_evidence(session=session, evidence_id=evidence_id, assignment_id=assignment.id)
    data = {
        "assignment_id": assignment.id,
        "evidence_id": evidence.id,
        "sha256": evidence.sha256,
        "role": user.role,
    }
    record_event(session=session, kind="evidence_downloaded", actor=user, data=data)
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
