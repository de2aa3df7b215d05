"""User accounts: argon2 password hashes, sign-in checks, the first admin and the demo users."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.errors import Conflict, Invalid, NotFound
from duban.models import Assignment, Department, User
from duban.services.head_term import sync_head_term

ADMIN_USERNAME = "admin"
DEMO_PASSWORD = "duban-demo"
MIN_PASSWORD_LENGTH = 8
LOCALES = ("zh-CN", "zh-TW")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class UserChanges:
    """Fields an admin may change on an account; None leaves a field as it is."""

    display_name: str | None = None
    role: str | None = None
    department_code: str | None = None
    email: str | None = None
    is_active: bool | None = None
    password: str | None = None
    locale: str | None = None


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(password)


def check_password(*, password: str) -> None:
    """Refuse a password that is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符")


def _role(role: str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        raise Invalid(f"未知角色：{role}") from None


def _department_for(*, session: Session, role: UserRole, code: str | None) -> Department | None:
    """Return the department a role needs: required for staff/head, none for the others."""
    if role not in DEPARTMENT_ROLES:
        return None
    if not code:
        raise Invalid("承办人和责任人必须属于一个部门")
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise Invalid(f"部门不存在：{code}")
    return department


def _check_locale(locale: str | None) -> None:
    if locale is not None and locale not in LOCALES:
        raise Invalid(f"不支持的语言：{locale}")


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    department_code: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> User:
    """Create an account after checking username, password, role and department."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise Invalid("用户名须为 2–64 位字母、数字、点、下划线或连字符，并以字母或数字开头")
    check_password(password=password)
    user_role = _role(role)
    department = _department_for(session=session, role=user_role, code=department_code)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名已存在：{username}")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=user_role.value,
        display_name=display_name.strip() or username,
        email=(email or "").strip() or None,
        department=department,
    )
    session.add(user)
    session.flush()
    sync_head_term(session=session, user=user, at=utcnow())
    return user


def get_user(*, session: Session, user_id: int) -> User:
    """Return the user with `user_id` or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


def list_users(*, session: Session) -> list[User]:
    """Return every account, admins first, then by username."""
    users = session.scalars(select(User).order_by(User.username)).all()
    order = {role.value: i for i, role in enumerate(reversed(UserRole))}
    return sorted(users, key=lambda u: (order.get(u.role, 99), u.username))


def update_user(
    *, session: Session, user_id: int, changes: UserChanges, acting_user_id: int
) -> User:
    """Apply an admin's changes; an admin cannot lock themselves out."""
    user = get_user(session=session, user_id=user_id)
    role = _role(changes.role) if changes.role is not None else UserRole(user.role)
    if user.id == acting_user_id and (changes.is_active is False or role != user.role):
        raise Conflict("不能停用自己的账户或更改自己的角色")
    if changes.password is not None:
        check_password(password=changes.password)
    _check_locale(changes.locale)
    code = changes.department_code
    if code is None and user.department is not None:
        code = user.department.code
    department = _department_for(session=session, role=role, code=code)
    user.role, user.department = role.value, department
    if changes.display_name is not None:
        user.display_name = changes.display_name.strip() or user.username
    if changes.email is not None:
        user.email = changes.email.strip() or None
    if changes.is_active is not None:
        user.is_active = changes.is_active
    if changes.password is not None:
        user.password_hash = hash_password(changes.password)
    if changes.locale is not None:
        user.locale = changes.locale
    session.flush()
    sync_head_term(session=session, user=user, at=utcnow())
    return user


def set_locale(*, session: Session, user: User, locale: str) -> None:
    """Save a user's interface script (zh-CN or zh-TW)."""
    _check_locale(locale)
    user.locale = locale
    session.flush()


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """Return the active user whose password matches, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def ensure_admin(*, session: Session, password: str | None) -> tuple[User, str | None]:
    """Create user `admin` if missing; return it and the generated password if none was given."""
    existing = session.scalar(select(User).where(User.username == ADMIN_USERNAME))
    if existing is not None:
        return existing, None
    generated = None if password else secrets.token_urlsafe(12)
    user = create_user(
        session=session,
        username=ADMIN_USERNAME,
        password=password or generated or "",
        role=UserRole.ADMIN,
        display_name="系统管理员",
    )
    return user, generated


def _demo_accounts(session: Session) -> list[tuple[str, UserRole, str, str | None]]:
    """List (username, role, display name, department code) of every demo account."""
    departments = session.scalars(
        select(Department)
        .where(Department.id.in_(select(Assignment.department_id)))
        .order_by(Department.code)
    ).all()
    accounts: list[tuple[str, UserRole, str, str | None]] = []
    for dept in departments:
        accounts.append(
            (f"{dept.code}-staff"[:64], UserRole.STAFF, f"{dept.name}承办人", dept.code)
        )
        accounts.append((f"{dept.code}-head"[:64], UserRole.HEAD, f"{dept.name}责任人", dept.code))
    accounts.append(("supervisor", UserRole.SUPERVISOR, "督查室", None))
    accounts.append(("assessor", UserRole.ASSESSOR, "考核办", None))
    return accounts


def seed_demo_users(*, session: Session) -> list[tuple[str, str]]:
    """Create the demo accounts that are missing; return (username, password) of those created."""
    existing = set(session.scalars(select(User.username)))
    created: list[tuple[str, str]] = []
    for username, role, display_name, code in _demo_accounts(session):
        if username in existing:
            continue
        create_user(
            session=session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            department_code=code,
            display_name=display_name,
        )
        created.append((username, DEMO_PASSWORD))
    return created
