"""Evidence over HTTP with an S3-compatible store (moto's server process), the store up and down."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import AuditEvent, Evidence
from duban.settings import Settings
from tests.s3 import MotoServer
from tests.web.browser import api_token
from tests.workspace import make_assignment, make_department, make_policy

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
JSON = {"Accept": "application/json"}


@pytest.fixture
def bucket(request: pytest.FixtureRequest) -> tuple[object, str]:
    """The store the test names: `up` (a fresh bucket on the live server) or `down` (stopped)."""
    if request.param == "up":
        server = request.getfixturevalue("s3_server")
        return server, server.bucket()
    server, name = request.getfixturevalue("s3_down")
    return server, name


@pytest.fixture
def settings(settings: Settings, bucket: tuple[MotoServer, str]) -> Settings:
    server, name = bucket
    return server.settings(settings, name)


@pytest.fixture
def assignment_id(db) -> int:
    with db.begin() as s:
        policy = make_policy(s)
        assignment = make_assignment(s, policy=policy, department=make_department(s, "fpb"))
        return assignment.id


@pytest.mark.parametrize("bucket", ["up"], indirect=True)
async def test_upload_and_download_through_the_bucket(client, login_as, assignment_id, bucket):
    server, name = bucket
    staff = await login_as(UserRole.STAFF, department="fpb")
    url = f"/assignments/{assignment_id}/evidence"
    xhr = {**JSON, "X-CSRFToken": staff.csrf}
    stored = (await staff.client.post(url, files={"files": ("报告.pdf", PDF)}, headers=xhr)).json()
    sha = hashlib.sha256(PDF).hexdigest()
    assert stored[0]["sha256"] == sha
    listed = server.client().list_objects_v2(Bucket=name)
    assert [o["Key"] for o in listed["Contents"]] == [f"evidence/{sha[:2]}/{sha}"]
    download = await staff.client.get(f"{url}/{stored[0]['id']}", headers=JSON)
    assert download.status_code == 200 and download.content == PDF
    api = await client.post(
        f"/api/v1/assignments/{assignment_id}/evidence",
        files={"file": ("again.pdf", PDF)},
        headers=await api_token(client, staff.username),
    )
    assert api.status_code == 201 and api.json()["sha256"] == sha
    assert len(server.client().list_objects_v2(Bucket=name)["Contents"]) == 1


@pytest.mark.parametrize("bucket", ["down"], indirect=True)
async def test_store_down_answers_503_and_indexes_nothing(client, login_as, assignment_id, db):
    staff = await login_as(UserRole.STAFF, department="fpb")
    url = f"/assignments/{assignment_id}/evidence"
    page = await staff.client.post(
        url, data={"csrf_token": staff.csrf}, files={"files": ("a.pdf", PDF)}
    )
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "证据存储暂不可用" in page.text
    xhr = await staff.client.post(
        url, files={"files": ("a.pdf", PDF)}, headers={**JSON, "X-CSRFToken": staff.csrf}
    )
    assert xhr.status_code == 503 and "证据存储暂不可用" in xhr.json()["detail"]
    api = await client.post(
        f"/api/v1/assignments/{assignment_id}/evidence",
        files={"file": ("a.pdf", PDF)},
        headers=await api_token(client, staff.username),
    )
    assert api.status_code == 503 and api.headers["Retry-After"]
    with db.begin() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0
        kinds = s.scalars(select(AuditEvent.kind)).all()
        assert "evidence_uploaded" not in kinds
