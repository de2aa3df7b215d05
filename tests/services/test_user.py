"""User service on SQLite and PostgreSQL: hashing, checks, authenticate, first admin, demo users."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.domain import assignment_workflow_id
from duban.errors import Conflict, Invalid, NotFound
from duban.models import Assignment, Department, Policy, User
from duban.services.leader import remit
from duban.services.user import (
    DEMO_PASSWORD,
    UserChanges,
    authenticate,
    create_user,
    ensure_admin,
    get_user,
    seed_demo_users,
    update_user,
)


def dept(session, code="jl-t", name="省测试厅") -> Department:
    row = Department(code=code, name=name)
    session.add(row)
    session.flush()
    return row


def test_create_user_hashes_with_argon2(session):
    dept(session)
    user = create_user(
        session=session,
        username="clerk",
        password="s3cret-pass",
        role="staff",
        department_code="jl-t",
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in user.password_hash
    assert user.department is not None and user.department.code == "jl-t"
    assert user.display_name == "clerk"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"username": "a b", "password": "long-enough", "role": "admin"}, Invalid),
        ({"username": "short", "password": "short", "role": "admin"}, Invalid),
        ({"username": "norole", "password": "long-enough", "role": "king"}, Invalid),
        ({"username": "nodept", "password": "long-enough", "role": "staff"}, Invalid),
        (
            {
                "username": "baddept",
                "password": "long-enough",
                "role": "head",
                "department_code": "nope",
            },
            Invalid,
        ),
    ],
)
def test_create_user_refuses_bad_input(session, kwargs, error):
    with pytest.raises(error):
        create_user(session=session, **kwargs)
    assert session.scalar(select(User).where(User.username == kwargs["username"])) is None


def test_duplicate_username_is_a_conflict(session):
    create_user(session=session, username="dup", password="long-enough", role="supervisor")
    with pytest.raises(Conflict, match="用户名已存在"):
        create_user(session=session, username="dup", password="other-enough", role="assessor")


def test_supervisor_never_keeps_a_department(session):
    dept(session)
    user = create_user(
        session=session,
        username="sup",
        password="long-enough",
        role="supervisor",
        department_code="jl-t",
    )
    assert user.department_id is None


def test_authenticate(session):
    create_user(session=session, username="who", password="right-password", role="assessor")
    assert authenticate(session=session, username="who", password="right-password") is not None
    assert authenticate(session=session, username="who", password="wrong-password") is None
    assert authenticate(session=session, username="nobody", password="right-password") is None


def test_update_user_and_deactivate(session):
    dept(session)
    admin = create_user(session=session, username="boss", password="long-enough", role="admin")
    user = create_user(
        session=session, username="u1", password="long-enough", role="staff", department_code="jl-t"
    )
    changes = UserChanges(
        role="supervisor", display_name="王五", is_active=False, password="new-password"
    )
    update_user(session=session, user_id=user.id, changes=changes, acting_user_id=admin.id)
    assert (user.role, user.display_name, user.department_id, user.is_active) == (
        "supervisor",
        "王五",
        None,
        False,
    )
    assert authenticate(session=session, username="u1", password="new-password") is None  # inactive
    with pytest.raises(Conflict):
        update_user(
            session=session,
            user_id=admin.id,
            changes=UserChanges(is_active=False),
            acting_user_id=admin.id,
        )
    with pytest.raises(NotFound):
        get_user(session=session, user_id=10_000)


def test_ensure_admin_with_given_and_generated_password(session):
    user, generated = ensure_admin(session=session, password="given-password")
    assert generated is None and user.role == "admin"
    assert authenticate(session=session, username="admin", password="given-password") is not None
    again, generated_again = ensure_admin(session=session, password="another-password")
    assert again.id == user.id and generated_again is None


def test_ensure_admin_generates_a_password(session):
    _user, generated = ensure_admin(session=session, password=None)
    assert generated and len(generated) >= 12
    assert authenticate(session=session, username="admin", password=generated) is not None


def test_seed_demo_users_per_department_with_assignments(session):
    busy, idle = dept(session, "jl-busy", "省忙碌厅"), dept(session, "jl-idle", "省空闲厅")
    policy = Policy(key="p", title="政策")
    session.add(policy)
    session.flush()
    session.add(
        Assignment(
            policy_id=policy.id,
            item_number=5,
            department_id=busy.id,
            role="lead",
            workflow_id=assignment_workflow_id("p", 5, busy.code),
        )
    )
    session.flush()
    created = seed_demo_users(session=session)
    assert dict(created) == {
        "jl-busy-staff": DEMO_PASSWORD,
        "jl-busy-head": DEMO_PASSWORD,
        "supervisor": DEMO_PASSWORD,
        "assessor": DEMO_PASSWORD,
        "leader": DEMO_PASSWORD,
    }
    leader = session.scalar(select(User).where(User.username == "leader"))
    assert leader is not None and [d.code for d in remit(session=session, user=leader)] == [
        "jl-busy"
    ]
    head = session.scalar(select(User).where(User.username == "jl-busy-head"))
    assert head is not None and head.role == "head" and head.department_id == busy.id
    assert session.scalar(select(User).where(User.department_id == idle.id)) is None
    assert authenticate(session=session, username="supervisor", password=DEMO_PASSWORD) is not None
    assert seed_demo_users(session=session) == []


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "password",
        "Password",
        " " * 8,
        "  abc  ",
        "aaaaaaaaaa",
        "abababab",
        "woaini1314",
        DEMO_PASSWORD,
    ],
)
def test_weak_common_and_demo_passwords_are_refused(session, password):
    with pytest.raises(Invalid):
        create_user(session=session, username="boss", password=password, role="supervisor")


def test_the_username_is_no_password_and_demo_is_only_for_seeding(session):
    with pytest.raises(Invalid):
        create_user(
            session=session, username="wang-du-ban", password="Wang-Du-Ban", role="supervisor"
        )
    user = create_user(
        session=session,
        username="demo1",
        password=DEMO_PASSWORD,
        role="supervisor",
        allow_demo=True,
    )
    assert authenticate(session=session, username="demo1", password=DEMO_PASSWORD) is not None
    refused = authenticate(
        session=session, username="demo1", password=DEMO_PASSWORD, allow_demo=False
    )
    assert refused is None and user.must_change_password is False


def test_seeded_accounts_must_change_their_password(session):
    admin, generated = ensure_admin(session=session, password=None)
    assert generated and admin.must_change_password
    given = create_user(session=session, username="ops", password="given-pass-9", role="admin")
    assert not given.must_change_password


def test_account_changes_are_audited_with_the_change(session):
    from duban.models import AuditEvent
    from duban.services.user import change_own_password

    admin = create_user(session=session, username="root1", password="given-pass-9", role="admin")
    dept(session)
    clerk = create_user(
        session=session,
        username="clerk",
        password="given-pass-9",
        role="staff",
        department_code="jl-t",
        actor=admin,
    )
    changes = UserChanges(role="head", password="fresh-pass-42", is_active=False)
    update_user(session=session, user_id=clerk.id, changes=changes, acting_user_id=admin.id)
    update_user(
        session=session,
        user_id=clerk.id,
        changes=UserChanges(is_active=True),
        acting_user_id=admin.id,
    )
    change_own_password(session=session, user=clerk, current="fresh-pass-42", new="newer-pass-43")
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    kinds = [(r.kind, r.actor_id) for r in rows if r.data.get("user_id") == clerk.id]
    assert kinds == [
        ("user_created", admin.id),
        ("user_role_changed", admin.id),
        ("user_password_reset", admin.id),
        ("user_deactivated", admin.id),
        ("user_reactivated", admin.id),
        ("password_changed", clerk.id),
    ]
    role_change = next(r for r in rows if r.kind == "user_role_changed")
    assert role_change.data["from"] == "staff" and role_change.data["to"] == "head"
