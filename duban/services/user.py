"""User accounts: argon2 password hashes, sign-in checks, the first admin and the demo users."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.errors import Conflict, Invalid, NotFound
from duban.models import Assignment, Department, LeaderDepartment, User
from duban.services.audit import record_event
from duban.services.head_term import sync_head_term
from duban.services.login_session import end_user_sessions

ADMIN_USERNAME = "admin"
DEMO_PASSWORD = "duban-demo"
MIN_PASSWORD_LENGTH = 8
MIN_DISTINCT_CHARS = 4
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
LOCALES = ("zh-CN", "zh-TW")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")

# Argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): about a fifth of
# argon2-cffi's default cost, so 60 sign-ins at once finish within 5 s on two cores (bench
# section (e)). Hashes made with other parameters still verify and are redone at sign-in.
ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM = 2, 19 * 1024, 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
)
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


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Return the refused common passwords, folded to lower case."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and line[0] != "#")


def check_password(*, password: str, username: str = "", allow_demo: bool = False) -> None:
    """Refuse a short, blank, repetitive or common password, the username, the demo password."""
    if len(password.strip()) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符（不计首尾空格）")
    if len(set(password)) < MIN_DISTINCT_CHARS:
        raise Invalid(f"密码至少需要 {MIN_DISTINCT_CHARS} 个不同的字符")
    folded = password.strip().lower()
    if username and folded == username.strip().lower():
        raise Invalid("密码不能与用户名相同")
    if folded == DEMO_PASSWORD and allow_demo:
        return
    if folded in common_passwords():
        raise Invalid("密码过于常见，容易被猜中，请换一个")


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
    actor: User | None = None,
    must_change_password: bool = False,
    allow_demo: bool = False,
) -> User:
    """Create an account after checking username, password, role and department; audit it."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise Invalid("用户名须为 2–64 位字母、数字、点、下划线或连字符，并以字母或数字开头")
    check_password(password=password, username=username, allow_demo=allow_demo)
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
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    sync_head_term(session=session, user=user, at=utcnow())
    data = {"user_id": user.id, "username": user.username, "role": user.role}
    record_event(session=session, kind="user_created", actor=actor, data=data)
    return user


def get_user(*, session: Session, user_id: int) -> User:
    """Return the user with `user_id` or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


_ROLE_ORDER = {role.value: i for i, role in enumerate(reversed(UserRole))}


def user_order(user: User) -> tuple[int, str]:
    """Sort key of the account list: admins first, then by username (unique)."""
    return (_ROLE_ORDER.get(user.role, 99), user.username)


def list_users(*, session: Session) -> list[User]:
    """Return every account, admins first, then by username."""
    users = session.scalars(select(User).order_by(User.username)).all()
    return sorted(users, key=user_order)


def update_user(
    *, session: Session, user_id: int, changes: UserChanges, acting_user_id: int
) -> User:
    """Apply an admin's changes; an admin cannot lock themselves out. Audited."""
    user = get_user(session=session, user_id=user_id)
    role = _role(changes.role) if changes.role is not None else UserRole(user.role)
    if user.id == acting_user_id and (changes.is_active is False or role != user.role):
        raise Conflict("不能停用自己的账户或更改自己的角色")
    if changes.password is not None:
        check_password(password=changes.password, username=user.username)
    _check_locale(changes.locale)
    code = changes.department_code
    if code is None and user.department is not None:
        code = user.department.code
    department = _department_for(session=session, role=role, code=code)
    before = (user.role, user.department.code if user.department else None, user.is_active)
    user.role, user.department = role.value, department
    if changes.display_name is not None:
        user.display_name = changes.display_name.strip() or user.username
    if changes.email is not None:
        user.email = changes.email.strip() or None
    if changes.is_active is not None:
        user.is_active = changes.is_active
    if changes.password is not None:
        set_password(session=session, user=user, password=changes.password)
    if changes.locale is not None:
        user.locale = changes.locale
    session.flush()
    sync_head_term(session=session, user=user, at=utcnow())
    _audit_update(session, user, before, changes, actor=session.get(User, acting_user_id))
    return user


def _audit_update(
    session: Session,
    user: User,
    before: tuple[str, str | None, bool],
    changes: UserChanges,
    *,
    actor: User | None,
) -> None:
    """Record role or department changes, password resets and (de)activation."""
    base = {"user_id": user.id, "username": user.username}
    role, code, active = before
    new_code = user.department.code if user.department else None
    if (role, code) != (user.role, new_code):
        data = base | {"from": role, "to": user.role, "department": [code, new_code]}
        record_event(session=session, kind="user_role_changed", actor=actor, data=data)
    if changes.password is not None:
        record_event(session=session, kind="user_password_reset", actor=actor, data=base)
    if active != user.is_active:
        kind = "user_reactivated" if user.is_active else "user_deactivated"
        record_event(session=session, kind=kind, actor=actor, data=base)
    if not user.is_active:
        end_user_sessions(session=session, user_id=user.id)


def set_password(*, session: Session, user: User, password: str) -> None:
    """Store a new password: end every session, revoke the calendar link, drop the forced change."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    user.ical_token = None
    end_user_sessions(session=session, user_id=user.id)
    session.flush()


def change_own_password(*, session: Session, user: User, current: str, new: str) -> None:
    """Change one's own password after checking the current one; audited."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise Invalid("当前密码不正确") from None
    if new == current:
        raise Invalid("新密码不能与当前密码相同")
    check_password(password=new, username=user.username)
    set_password(session=session, user=user, password=new)
    data = {"user_id": user.id, "username": user.username}
    record_event(session=session, kind="password_changed", actor=user, data=data)


def set_locale(*, session: Session, user: User, locale: str) -> None:
    """Save a user's interface script (zh-CN or zh-TW)."""
    _check_locale(locale)
    user.locale = locale
    session.flush()


def password_matches(password_hash: str | None, password: str, *, allow_demo: bool = True) -> bool:
    """Check a password against a stored hash, touching no database (Argon2 takes a while, so
    the caller holds no connection meanwhile). None checks a dummy hash: a miss costs the same.
    Without `allow_demo` the published demo password is refused before any hash is checked."""
    if not allow_demo and password.strip().lower() == DEMO_PASSWORD:
        return False
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def rehashed(password_hash: str, password: str) -> str | None:
    """Return a new hash of a verified password when the stored one has older parameters."""
    return hash_password(password) if _hasher.check_needs_rehash(password_hash) else None


def authenticate(
    *, session: Session, username: str, password: str, allow_demo: bool = True
) -> User | None:
    """Return the active user whose password matches, else None (same cost either way).

    Without `allow_demo` the published demo password is refused before any hash is checked.
    """
    if not allow_demo and password.strip().lower() == DEMO_PASSWORD:
        return None
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
        must_change_password=generated is not None,
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
    accounts.append(("leader", UserRole.LEADER, "分管领导", None))
    return accounts


def seed_demo_users(*, session: Session) -> list[tuple[str, str]]:
    """Create the demo accounts that are missing; return (username, password) of those created.

    They share the published demo password, which only `duban dev` accepts at sign-in; they
    are marked to change it at first sign-in anywhere else.
    """
    existing = set(session.scalars(select(User.username)))
    created: list[tuple[str, str]] = []
    for username, role, display_name, code in _demo_accounts(session):
        if username in existing:
            continue
        user = create_user(
            session=session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            department_code=code,
            display_name=display_name,
            must_change_password=True,
            allow_demo=True,
        )
        if role == UserRole.LEADER:  # the demo leader oversees every department with work
            session.add_all(
                LeaderDepartment(user_id=user.id, department_id=d)
                for d in sorted(set(session.scalars(select(Assignment.department_id))))
            )
        created.append((username, DEMO_PASSWORD))
    session.flush()
    return created
