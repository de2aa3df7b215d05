"""Evidence in an S3-compatible store (moto's server process): addresses, dedupe, outages."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.errors import NotFound, TooLarge
from duban.models import AuditEvent, Evidence
from duban.services.evidence import EvidenceCorrupt, local_file, record_evidence
from duban.services.evidence_s3 import (
    EvidenceStoreUnavailable,
    S3EvidenceStore,
    evidence_store_for,
)
from duban.settings import Settings
from tests.workspace import make_assignment, make_department, make_policy, make_user

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def store_on(server, bucket: str, tmp_path) -> S3EvidenceStore:
    settings = server.settings(Settings(data_dir=tmp_path, max_upload_bytes=4096), bucket)
    store = evidence_store_for(settings)
    assert isinstance(store, S3EvidenceStore)
    return store


def keys(server, bucket: str) -> list[str]:
    listed = server.client().list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_without_a_bucket_the_folder_store_stays_the_default(tmp_path):
    store = evidence_store_for(Settings(data_dir=tmp_path))
    assert not isinstance(store, S3EvidenceStore)
    blob = store.put(io.BytesIO(PDF), filename="a.pdf")
    assert (tmp_path / "evidence" / blob.sha256[:2] / blob.sha256).read_bytes() == PDF


def test_upload_download_by_content_address(s3_server, tmp_path):
    bucket = s3_server.bucket()
    store = store_on(s3_server, bucket, tmp_path)
    blob = store.put(io.BytesIO(PDF), filename="report.pdf")
    sha = hashlib.sha256(PDF).hexdigest()
    assert (blob.sha256, blob.size, blob.content_type) == (sha, len(PDF), "application/pdf")
    assert keys(s3_server, bucket) == [f"evidence/{sha[:2]}/{sha}"]
    head = s3_server.client().head_object(Bucket=bucket, Key=f"evidence/{sha[:2]}/{sha}")
    assert head["ContentType"] == "application/pdf" and head["Metadata"] == {"sha256": sha}
    with store.open_verified(sha) as handle:
        assert handle.read() == PDF
    with pytest.raises(NotFound):
        store.open_verified("0" * 64)
    with pytest.raises(NotFound):
        store.open_verified("../../etc/passwd")
    # Not on this machine's disk: a preview reads a verified temporary copy instead.
    assert store.local_path(sha) is None
    with local_file(store, sha) as path:
        assert path.read_bytes() == PDF
    assert not path.exists()


def test_a_stored_hash_is_never_sent_again_and_a_bad_object_never_served(s3_server, tmp_path):
    bucket = s3_server.bucket()
    store = store_on(s3_server, bucket, tmp_path)
    sha = hashlib.sha256(PNG).hexdigest()
    key = f"evidence/{sha[:2]}/{sha}"
    # An object already under the address (here a damaged one) is not overwritten by a repeat...
    s3_server.client().put_object(Bucket=bucket, Key=key, Body=b"damaged")
    again = store.put(io.BytesIO(PNG), filename="photo.png")
    assert again.sha256 == sha and keys(s3_server, bucket) == [key]
    assert s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read() == b"damaged"
    # ...and a download re-hashes it, refusing what no longer matches its address.
    with pytest.raises(EvidenceCorrupt):
        store.open_verified(sha)


def test_same_file_twice_is_one_object(s3_server, tmp_path):
    bucket = s3_server.bucket()
    store = store_on(s3_server, bucket, tmp_path)
    first = store.put(io.BytesIO(PDF), filename="a.pdf")
    second = store.put(io.BytesIO(PDF), filename="b-另一个名字.pdf")
    assert first == second and len(keys(s3_server, bucket)) == 1


def test_too_large_sends_nothing(s3_server, tmp_path):
    bucket = s3_server.bucket()
    store = store_on(s3_server, bucket, tmp_path)
    with pytest.raises(TooLarge):
        store.put(io.BytesIO(PNG + b"\x00" * 5000), filename="big.png")
    assert keys(s3_server, bucket) == []


@pytest.fixture
def assignment_and_user(session):
    policy = make_policy(session)
    department = make_department(session)
    assignment = make_assignment(session, policy=policy, department=department)
    user = make_user(session, UserRole.STAFF, department=department)
    session.flush()
    return assignment, user


def test_store_down_is_a_clear_503_and_nothing_is_indexed(
    s3_down, session, assignment_and_user, tmp_path
):
    server, bucket = s3_down
    store = store_on(server, bucket, tmp_path)
    assignment, user = assignment_and_user
    with pytest.raises(EvidenceStoreUnavailable) as info:
        record_evidence(
            session=session,
            store=store,
            assignment_id=assignment.id,
            user_id=user.id,
            actor="test",
            filename="a.pdf",
            source=io.BytesIO(PDF),
        )
    assert info.value.status == 503 and "证据存储暂不可用" in info.value.message
    assert session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    with pytest.raises(EvidenceStoreUnavailable):
        store.open_verified(hashlib.sha256(PDF).hexdigest())
