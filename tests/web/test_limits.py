"""Bodies over the upload limit are refused with 413 before the app reads them."""

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import AuditEvent, Evidence
from web.limits import ENVELOPE_BYTES


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"max_upload_bytes": 64 * 1024})


def _counts(db):
    with db.begin() as s:
        return (
            s.scalar(select(func.count()).select_from(Evidence)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )


async def test_declared_length_over_limit_is_refused_unread(login_as, db):
    staff = await login_as(UserRole.STAFF)
    before = _counts(db)
    big = b"%PDF-1.4\n" + b"0" * (64 * 1024 + ENVELOPE_BYTES + 10)
    response = await staff.client.post(
        "/api/v1/assignments/1/evidence",
        files={"file": ("big.pdf", big, "application/pdf")},
        headers={"x-csrftoken": staff.csrf},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "上传内容超过大小限制"}
    assert _counts(db) == before


async def test_streamed_body_over_limit_is_refused(login_as, db):
    staff = await login_as(UserRole.STAFF)
    before = _counts(db)

    async def chunks():
        yield (
            b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
        )
        for _ in range(40):  # 2.5 MB, no Content-Length: chunked
            yield b"x" * 64 * 1024
        yield b"\r\n--zz--\r\n"

    response = await staff.client.post(
        "/api/v1/assignments/1/evidence",
        content=chunks(),
        headers={"x-csrftoken": staff.csrf, "content-type": "multipart/form-data; boundary=zz"},
    )
    assert response.status_code == 413
    assert _counts(db) == before


async def test_small_bodies_pass_through(client):
    response = await client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert response.status_code == 401
