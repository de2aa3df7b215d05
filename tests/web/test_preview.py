"""Evidence previews: images and PDF pages shown in the page, nothing that can run script."""

from __future__ import annotations

import hashlib
import io

from fpdf import FPDF
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from duban.domain import UserRole
from duban.services.evidence import EvidenceStore, StoredBlob, index_evidence, record_evidence
from duban.settings import Settings
from tests.workspace import make_assignment, make_department, make_policy

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _pdf(pages: int) -> bytes:
    pdf = FPDF()
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=20)
        pdf.cell(0, 10, f"page {n + 1}")
    return bytes(pdf.output())


def _planted(store: EvidenceStore, data: bytes, claimed: str) -> StoredBlob:
    """Put bytes in the store as a file of an older version might be (uploads refuse them now)."""
    sha = hashlib.sha256(data).hexdigest()
    path = store.path_of(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StoredBlob(sha256=sha, size=len(data), content_type=claimed)


def _world(db: sessionmaker[Session], settings: Settings) -> tuple[int, dict[str, int]]:
    store = EvidenceStore(settings.evidence_dir, max_bytes=settings.max_upload_bytes)
    files = {
        "photo.jpg": _png(),  # a PNG under a JPEG name: served as what its bytes say
        "report.pdf": _pdf(2),
    }
    planted = {"drawing.svg": (SVG, "image/svg+xml"), "fake.png": (HTML, "image/png")}
    with db.begin() as s:
        a = make_assignment(
            s,
            policy=make_policy(s),
            department=make_department(s, "fpb", "省乡村振兴局"),
            state="submitted",
        )
        ids = {
            name: record_evidence(
                session=s,
                store=store,
                assignment_id=a.id,
                user_id=None,
                actor="测试",
                filename=name,
                source=io.BytesIO(data),
            ).id
            for name, data in files.items()
        }
        for name, (data, claimed) in planted.items():
            blob = _planted(store, data, claimed)
            ids[name] = index_evidence(
                session=s, blob=blob, assignment_id=a.id, user_id=None, actor="测试", filename=name
            ).id
        return a.id, ids


async def test_images_and_pdf_pages_are_shown_sandboxed(app, db, settings, login_as):
    aid, ids = _world(db, settings)
    sup = await login_as(UserRole.SUPERVISOR)
    base = f"/assignments/{aid}/evidence"
    image = await sup.client.get(f"{base}/{ids['photo.jpg']}/preview")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-security-policy"].startswith("sandbox")
    page2 = await sup.client.get(f"{base}/{ids['report.pdf']}/preview?page=2")
    assert page2.status_code == 200 and page2.content.startswith(b"\x89PNG")
    assert "sandbox" in page2.headers["content-security-policy"]
    view = await sup.client.get(f"{base}/{ids['report.pdf']}/view?page=2")
    assert view.status_code == 200
    assert f'src="{base}/{ids["report.pdf"]}/preview?page=2"' in view.text
    assert "第 2 / 2 页" in view.text and "上一页" in view.text


async def test_script_bearing_files_are_never_served_inline(app, db, settings, login_as):
    aid, ids = _world(db, settings)
    staff = await login_as(UserRole.STAFF, "fpb")
    base = f"/assignments/{aid}/evidence"
    for name in ("drawing.svg", "fake.png"):
        served = await staff.client.get(f"{base}/{ids[name]}/preview")
        assert served.status_code == 415, name
        assert served.headers["content-type"].startswith("text/plain")
        assert b"<script" not in served.content
        view = await staff.client.get(f"{base}/{ids[name]}/view")
        assert "不能在页面中预览" in view.text and "<img" not in view.text.split("preview")[-1]


async def test_preview_refuses_bad_requests(app, db, settings, login_as):
    aid, ids = _world(db, settings)
    sup = await login_as(UserRole.SUPERVISOR)
    assessor = await login_as(UserRole.ASSESSOR)
    other = await login_as(UserRole.STAFF)
    pdf = f"/assignments/{aid}/evidence/{ids['report.pdf']}"
    assert (await sup.client.get(f"{pdf}/preview?page=3")).status_code == 404
    for bad in ("0", "abc", "100000"):
        assert (await sup.client.get(f"{pdf}/preview?page={bad}")).status_code == 422
    assert (await sup.client.get(f"/assignments/{aid}/evidence/999999/view")).status_code == 404
    assert (await assessor.client.get(f"{pdf}/view")).status_code == 403
    assert (await other.client.get(f"{pdf}/preview")).status_code == 404


async def test_task_page_offers_supervisors_review_urge_and_papers(app, db, settings, login_as):
    aid, ids = _world(db, settings)
    sup = await login_as(UserRole.SUPERVISOR)
    staff = await login_as(UserRole.STAFF, "fpb")
    page = (await sup.client.get(f"/assignments/{aid}")).text
    for text in (
        "审核通过",
        "退回整改",
        f'action="/assignments/{aid}/urge"',
        "督办通知单（PDF）",
    ):
        assert text in page, text
    assert f"/evidence/{ids['report.pdf']}/view" in page
    mine = (await staff.client.get(f"/assignments/{aid}")).text
    assert "督办通知单（PDF）" not in mine and f"/assignments/{aid}/urge" not in mine


async def test_a_refused_review_from_the_task_page_returns_to_it(app, db, settings, login_as):
    aid, _ids = _world(db, settings)
    sup = await login_as(UserRole.SUPERVISOR)
    form = {
        "csrf_token": sup.csrf,
        "decision": "return",
        "comment": "",
        "next": f"/assignments/{aid}",
    }
    refused = await sup.client.post(f"/assignments/{aid}/review", data=form)
    assert refused.status_code == 422
    assert "退回理由" in refused.text and 'id="supervise-title"' in refused.text
