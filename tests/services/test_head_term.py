"""Head terms follow role, department and activity changes; scores go to the head of the period."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from duban.models import HeadTerm
from duban.services.head_term import head_at, head_terms, sync_head_term
from duban.services.user import UserChanges, create_user, update_user
from tests.workspace import make_department

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _terms(session, user_id):
    rows = session.scalars(
        select(HeadTerm).where(HeadTerm.user_id == user_id).order_by(HeadTerm.id)
    )
    return [(t.department_id, t.ended_at is None) for t in rows]


def test_terms_open_and_close_with_the_account(session):
    a, b = make_department(session, "hta", "省甲厅"), make_department(session, "htb", "省乙厅")
    admin = create_user(session=session, username="boss", password="a-long-pass-1", role="admin")
    head = create_user(
        session=session,
        username="zhang",
        password="a-long-pass-1",
        role="head",
        department_code="hta",
    )
    assert _terms(session, head.id) == [(a.id, True)]
    # Moving to another department ends the first term and opens a second.
    update_user(
        session=session,
        user_id=head.id,
        changes=UserChanges(department_code="htb"),
        acting_user_id=admin.id,
    )
    assert _terms(session, head.id) == [(a.id, False), (b.id, True)]
    # An unrelated change keeps the open term as it is.
    update_user(
        session=session,
        user_id=head.id,
        changes=UserChanges(display_name="张处长"),
        acting_user_id=admin.id,
    )
    assert _terms(session, head.id) == [(a.id, False), (b.id, True)]
    # Deactivation (or becoming staff) ends it.
    update_user(
        session=session,
        user_id=head.id,
        changes=UserChanges(is_active=False),
        acting_user_id=admin.id,
    )
    assert _terms(session, head.id) == [(a.id, False), (b.id, False)]
    staff = create_user(
        session=session,
        username="li",
        password="a-long-pass-1",
        role="staff",
        department_code="hta",
    )
    assert _terms(session, staff.id) == []


def test_the_head_of_a_moment_is_the_one_in_office(session):
    dept = make_department(session, "htc", "省丙厅")
    old = create_user(
        session=session,
        username="old",
        password="a-long-pass-1",
        role="head",
        department_code="htc",
    )
    new = create_user(
        session=session,
        username="new",
        password="a-long-pass-1",
        role="staff",
        department_code="htc",
    )
    session.query(HeadTerm).delete()
    old.role = "head"
    sync_head_term(session=session, user=old, at=T0)
    old.role = "staff"
    sync_head_term(session=session, user=old, at=T0 + timedelta(days=90))
    new.role = "head"
    sync_head_term(session=session, user=new, at=T0 + timedelta(days=90))
    terms = head_terms(session=session)[dept.id]

    def head(at: datetime) -> str | None:
        term = head_at(terms, at)
        return term.username if term else None

    assert head(T0 + timedelta(days=30)) == "old"
    assert head(T0 + timedelta(days=120)) == "new"
    # Before anyone was on record: the nearest term.
    assert head(T0 - timedelta(days=5)) == "old"
    assert head_at([], T0) is None
