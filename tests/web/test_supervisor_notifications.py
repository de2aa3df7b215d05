"""Notifications on the web: the list, marking read, the polled bell, mail preferences and /auth/me."""

from __future__ import annotations

from duban.domain import UserRole
from duban.models import Notification, User
from tests.web.browser import add_user, api_token


def notify(db, user_id: int, n: int = 2) -> list[int]:
    with db.begin() as s:
        notes = [
            Notification(key=f"k{user_id}-{i}", user_id=user_id, kind="urge", title=f"督办催办 {i}")
            for i in range(n)
        ]
        s.add_all(notes)
        s.flush()
        return [note.id for note in notes]


async def test_list_and_mark_read_page_and_api(login_as, db, client):
    staff = await login_as(UserRole.STAFF)
    ids = notify(db, staff.user_id, 3)
    other_id, other_name = add_user(db, UserRole.STAFF)
    foreign = notify(db, other_id, 1)
    page = await staff.client.get("/notifications")
    assert (
        page.status_code == 200
        and "督办催办 2" in page.text
        and 'id="unread-count">3<' in page.text
    )
    frag = await staff.client.get("/notifications", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "督办催办 0" in frag.text
    one = await staff.client.post(
        "/notifications/read", data={"csrf_token": staff.csrf, "ids": ids[0]}
    )
    assert one.status_code == 303
    headers = await api_token(client, staff.username)
    unread = (await client.get("/api/v1/notifications?unread=true", headers=headers)).json()
    assert sorted(n["id"] for n in unread) == sorted(ids[1:])
    marked = await client.post(
        "/api/v1/notifications", json={"ids": foreign + ids[1:2]}, headers=headers
    )
    assert marked.json() == {"marked": 1, "unread": 1}  # another user's id is ignored
    rest = await client.post("/api/v1/notifications", json={}, headers=headers)
    assert rest.json() == {"marked": 1, "unread": 0}
    theirs = await api_token(client, other_name)
    assert len((await client.get("/api/v1/notifications?unread=true", headers=theirs)).json()) == 1
    forged = await staff.client.post("/notifications/read", data={"csrf_token": "forged"})
    assert forged.status_code == 403


async def test_bell_counts_polls_while_active_and_stops_when_idle(login_as, db, client):
    sup = await login_as(UserRole.SUPERVISOR)
    notify(db, sup.user_id, 2)
    home = await sup.client.get("/")
    assert 'id="bell"' in home.text and 'hx-get="/notifications/bell?n=0"' in home.text
    bell = await sup.client.get("/notifications/bell?n=3", headers={"HX-Request": "true"})
    assert bell.status_code == 200 and 'id="bell-count">2<' in bell.text
    assert 'hx-get="/notifications/bell?n=4"' in bell.text and "every 30s" in bell.text
    idle = await sup.client.get("/notifications/bell?n=60", headers={"HX-Request": "true"})
    assert idle.status_code == 286 and "hx-trigger" not in idle.text
    anonymous = await client.get("/notifications/bell", headers={"HX-Request": "true"})
    assert anonymous.status_code == 286


async def test_preferences_page_and_api(login_as, db, client):
    head = await login_as(UserRole.HEAD)
    bad = await head.client.post(
        "/notifications/preferences", data={"csrf_token": head.csrf, "email": "不是邮箱"}
    )
    assert bad.status_code == 422 and "电子邮箱格式不正确" in bad.text
    with db() as s:
        assert s.get_one(User, head.user_id).email is None
    ok = await head.client.post(
        "/notifications/preferences",
        data={"csrf_token": head.csrf, "email": "head@fpb.gov.cn", "digest_email": "1"},
    )
    assert ok.status_code == 303
    off = await head.client.post(
        "/notifications/preferences", data={"csrf_token": head.csrf, "email": "head@fpb.gov.cn"}
    )
    assert off.status_code == 303
    with db() as s:
        user = s.get_one(User, head.user_id)
        assert (user.email, user.digest_email) == ("head@fpb.gov.cn", False)
    headers = await api_token(client, head.username)
    me = await client.patch("/api/v1/auth/me", json={"digest_email": True}, headers=headers)
    assert me.status_code == 200 and me.json()["digest_email"] is True
    assert me.json()["email"] == "head@fpb.gov.cn"
    wrong = await client.patch("/api/v1/auth/me", json={"email": "a@"}, headers=headers)
    # The address format is in the schema: validation refuses it and names the field.
    assert wrong.status_code == 422 and "email" in wrong.json()["detail"]
    cleared = await client.patch("/api/v1/auth/me", json={"email": ""}, headers=headers)
    assert cleared.json()["email"] is None


async def test_notifications_need_sign_in(client):
    assert (await client.get("/notifications")).status_code == 303
    assert (await client.get("/api/v1/notifications")).status_code == 401
