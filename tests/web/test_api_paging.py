"""The API's lists (the inbox too) in keyset windows: `limit`, a `next` cursor (Link / X-Next-Cursor, and the
board's body), no row twice or lost when rows are added between windows, bad limits and cursors
422, and clients that send neither still get every row. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Escalation, Extension, Submission
from duban.services.paging import encode_cursor
from tests.db import BACKENDS
from tests.web.browser import SignedIn
from tests.workspace import make_assignment, make_department, make_policy, make_user

N = 23
LISTS = [
    ("/api/v1/assignments", UserRole.SUPERVISOR),
    ("/api/v1/board", UserRole.SUPERVISOR),
    ("/api/v1/reviews", UserRole.SUPERVISOR),
    ("/api/v1/escalations", UserRole.SUPERVISOR),
    ("/api/v1/extensions", UserRole.SUPERVISOR),
    ("/api/v1/users", UserRole.ADMIN),
    ("/api/v1/departments", UserRole.ADMIN),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """These tests run on both databases."""
    return str(request.param)


def _seed(db: sessionmaker[Session], n: int = N, start: int = 0) -> None:
    """n departments, each with a late submitted assignment at an escalation, and a user."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(s, items=[{"number": 5, "title": "健全防止返贫动态监测和帮扶机制"}])
        for i in range(start, start + n):
            dept = make_department(s, f"p{i:03d}", f"翻页单位{i:03d}")
            a = make_assignment(
                s,
                policy=policy,
                department=dept,
                periods=0,
                state="submitted",
                due_at=now - timedelta(days=i % 5),
            )
            at = now - timedelta(minutes=i % 3)  # ties broken by the id
            s.add(Escalation(assignment_id=a.id, period_index=0, level=1 + i % 3, reached_at=at))
            s.add(Submission(key=f"s{i}", assignment_id=a.id, period_index=0, report="已完成。"))
            s.add(
                Extension(
                    key=f"x{i}",
                    assignment_id=a.id,
                    period_index=0,
                    requested_due_at=now + timedelta(days=30),
                    reason="汛期施工受阻",
                    requested_at=at,
                )
            )
            make_user(s, "staff", dept, username=f"pager{i:03d}", display_name=f"翻页员{i:03d}")


def _rows(body: Any) -> list[Any]:
    return list(body["rows"] if isinstance(body, dict) else body)


def _ident(row: dict[str, Any]) -> Any:
    for field in ("submission_id", "assignment_id", "username", "code", "id"):
        if field in row:
            return row[field]
    return repr(row)


async def _walk(who: SignedIn, path: str, limit: int) -> tuple[list[Any], int]:
    """Follow the Link headers from the first window to the last; return the rows and windows."""
    url: str | None = f"{path}{'&' if '?' in path else '?'}limit={limit}"
    seen: list[Any] = []
    windows = 0
    while url is not None:
        answer = await who.client.get(url)
        assert answer.status_code == 200, answer.text
        rows = _rows(answer.json())
        assert len(rows) <= limit
        seen += [_ident(r) for r in rows]
        windows += 1
        link = answer.headers.get("link")
        if link is None:
            assert "x-next-cursor" not in answer.headers
            url = None
            continue
        found = re.fullmatch(r'<(.+)>; rel="next"', link)
        assert found is not None, link
        assert answer.headers["x-next-cursor"] in found.group(1)
        if isinstance(answer.json(), dict):
            assert answer.json()["next"] == answer.headers["x-next-cursor"]
        url = found.group(1)
    return seen, windows


@pytest.mark.parametrize(("path", "role"), LISTS)
async def test_windows_cover_the_list_once_in_order(db, login_as, path, role):
    _seed(db)
    who = await login_as(role)
    whole = (await who.client.get(path)).json()  # no limit: the generous default, every row
    everything = [_ident(r) for r in _rows(whole)]
    assert len(everything) >= N
    if isinstance(whole, dict):
        assert whole["next"] is None
    seen, windows = await _walk(who, path, limit=5)
    assert seen == everything
    assert windows == -(-len(everything) // 5)


async def test_rows_added_between_windows_do_not_repeat_or_shift_the_rest(db, login_as):
    _seed(db, n=10)
    admin = await login_as(UserRole.ADMIN)
    first = await admin.client.get("/api/v1/departments?limit=4")
    assert [d["code"] for d in first.json()] == ["p000", "p001", "p002", "p003"]
    _seed(db, n=1, start=100)  # sorts after p003 (p100); a keyset does not move
    with db.begin() as s:
        make_department(s, "a000", "排在最前的新单位")  # sorts before: not seen, not shifting
    cursor = first.headers["x-next-cursor"]
    second = await admin.client.get(f"/api/v1/departments?limit=4&cursor={cursor}")
    assert [d["code"] for d in second.json()] == ["p004", "p005", "p006", "p007"]


async def test_a_filtered_board_windows_within_its_filter(db, login_as):
    _seed(db)
    sup = await login_as(UserRole.SUPERVISOR)
    whole = (await sup.client.get("/api/v1/board?q=翻页单位01")).json()
    assert whole["total"] == 10 and len(whole["rows"]) == 10
    part = (await sup.client.get("/api/v1/board?q=翻页单位01&limit=4")).json()
    assert len(part["rows"]) == 4 and part["next"] is not None
    rest = await sup.client.get(f"/api/v1/board?q=翻页单位01&limit=10&cursor={part['next']}")
    assert len(rest.json()["rows"]) == 6 and rest.json()["next"] is None
    assert "link" not in rest.headers


@pytest.mark.parametrize(
    "query",
    [
        "q=翻页单位01",
        "light=green",
        "q=翻页单位&level=0",
        "q=翻页单位00&light=green",
    ],
)
async def test_walking_a_filtered_board_gives_every_row_once_in_order(db, login_as, query):
    _seed(db)
    sup = await login_as(UserRole.SUPERVISOR)
    whole = (await sup.client.get(f"/api/v1/board?{query}")).json()
    everything = [r["assignment_id"] for r in whole["rows"]]
    assert everything and len(set(everything)) == len(everything)
    for limit in (1, 3):
        seen, windows = await _walk(sup, f"/api/v1/board?{query}", limit)
        assert seen == everything
        assert windows == max(1, -(-len(everything) // limit))


@pytest.mark.parametrize("level", [1, 3])
async def test_walking_one_level_of_the_ladder_gives_each_rung_once_in_order(db, login_as, level):
    _seed(db)
    sup = await login_as(UserRole.SUPERVISOR)
    whole = (await sup.client.get(f"/api/v1/escalations?level={level}")).json()
    assert whole and {r["level"] for r in whole} == {level}
    seen, _ = await _walk(sup, f"/api/v1/escalations?level={level}", 2)
    assert seen == [r["id"] for r in whole]


async def test_cursors_of_another_list_or_the_old_scheme_are_422(db, login_as):
    _seed(db, n=6)
    sup = await login_as(UserRole.SUPERVISOR)
    reviews = (await sup.client.get("/api/v1/reviews?limit=2")).headers["x-next-cursor"]
    board = (await sup.client.get("/api/v1/board?limit=2")).json()["next"]
    old_board = encode_cursor((0, 0, -3, 1.7e9, 4))  # the in-memory scheme's lateness key
    huge_id = encode_cursor(("board", 0, 0, 1, 2**40))  # no 32-bit id holds it
    for path, cursor in [
        ("/api/v1/board", reviews),
        ("/api/v1/escalations", board),
        ("/api/v1/board", old_board),
        ("/api/v1/reviews", encode_cursor((1.7e9, 4))),
        ("/api/v1/extensions", reviews),
        ("/api/v1/board", huge_id),
    ]:
        answer = await sup.client.get(f"{path}?cursor={cursor}")
        assert answer.status_code == 422, (path, cursor, answer.text)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_QUERIES = [
    "limit=0",
    "limit=-1",
    "limit=1001",
    "limit=abc",
    "limit=1.5",
    "cursor=",
    "cursor=%%%",
    "cursor=" + "A" * 513,
    "cursor=" + _b64(b"not json"),
    "cursor=" + _b64(b"{}"),
    "cursor=" + _b64(b"[]"),
    "cursor=" + _b64(b"[true]"),
    "cursor=" + _b64(b"[null, 1]"),
    "cursor=" + _b64(b'[{"a": 1}]'),
    "cursor=" + _b64(b"[Infinity]"),
    "cursor=" + _b64(b"\xff\xfe"),
    "cursor=" + encode_cursor(("x", "y", "z", "w", "v", "u", "t")),  # another list's shape
]


@pytest.mark.parametrize(("path", "role"), LISTS)
async def test_bad_limits_and_cursors_are_422_and_change_nothing(db, login_as, path, role):
    _seed(db, n=3)
    who = await login_as(role)
    before = (await who.client.get(path)).json()
    for query in BAD_QUERIES:
        answer = await who.client.get(f"{path}?{query}")
        assert answer.status_code == 422, (path, query, answer.text)
        assert answer.json()["detail"]
    assert (await who.client.get(path)).json() == before


async def test_the_openapi_document_names_the_parameters_and_the_next_link(client):
    doc = (await client.get("/openapi.json")).json()
    for path, _ in LISTS:
        op = doc["paths"][path]["get"]
        names = {p["name"] for p in op["parameters"]}
        assert {"limit", "cursor"} <= names, path
        assert "Link" in op["responses"]["200"]["headers"], path
        assert "422" in op["responses"], path
    board = doc["components"]["schemas"]["BoardRead"]["properties"]
    assert "next" in board
