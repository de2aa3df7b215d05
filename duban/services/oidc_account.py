"""Local accounts of people who sign in through OpenID Connect.

A user is found by the provider's (issuer, subject), never by name or e-mail: the first
sign-in creates the account (username `oidc-` + 10 hex of a hash of both), each later one
updates role, department, name and e-mail from the claims (audited like an admin's change).
Such an account has no local password (`NO_PASSWORD` never matches and never expires).
A department code that does not exist, or a department role without a department, is
refused and nothing is written.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import DEPARTMENT_ROLES
from duban.models import Department, OidcIdentity, User
from duban.oidc import Identity, OidcRefused
from duban.services.audit import record_event
from duban.services.head_term import sync_head_term

NO_PASSWORD = "!oidc"  # not an Argon2 hash: no password ever matches it


def username_for(identity: Identity) -> str:
    """Return the local username of a provider identity (stable, 15 characters)."""
    digest = hashlib.sha256(f"{identity.issuer}\n{identity.subject}".encode()).hexdigest()
    return f"oidc-{digest[:10]}"


def _department(session: Session, identity: Identity) -> Department | None:
    if identity.role not in DEPARTMENT_ROLES:
        return None
    if not identity.department_code:
        raise OidcRefused("统一身份认证未给出部门，无法以承办角色登录 / no department claim")
    department = session.scalar(
        select(Department).where(Department.code == identity.department_code)
    )
    if department is None:
        raise OidcRefused(
            f"统一身份认证给出的部门在本系统中不存在：{identity.department_code} "
            "/ unknown department"
        )
    return department


def sign_in_oidc(*, session: Session, identity: Identity, now: datetime) -> User:
    """Return the local user of `identity`, created or updated from its claims; audited."""
    department = _department(session, identity)
    link = session.scalar(
        select(OidcIdentity).where(
            OidcIdentity.issuer == identity.issuer, OidcIdentity.subject == identity.subject
        )
    )
    if link is None:
        user = User(
            username=username_for(identity),
            password_hash=NO_PASSWORD,
            role=identity.role.value,
            display_name=identity.name or username_for(identity),
            email=identity.email,
            department=department,
        )
        session.add(user)
        session.flush()
        link = OidcIdentity(user_id=user.id, issuer=identity.issuer, subject=identity.subject)
        session.add(link)
        data = {"user_id": user.id, "username": user.username, "role": user.role, "via": "oidc"}
        record_event(session=session, kind="user_created", actor=None, data=data)
    else:
        found = session.get(User, link.user_id)
        assert found is not None
        user = found
        if not user.is_active:
            raise OidcRefused("账户已停用 / the account is deactivated")
        before = (user.role, user.department.code if user.department else None)
        user.role, user.department = identity.role.value, department
        if identity.name:
            user.display_name = identity.name
        if identity.email:
            user.email = identity.email
        after = (user.role, department.code if department else None)
        if before != after:
            data = {
                "user_id": user.id,
                "username": user.username,
                "from": before[0],
                "to": after[0],
                "department": [before[1], after[1]],
                "via": "oidc",
            }
            record_event(session=session, kind="user_role_changed", actor=None, data=data)
    session.flush()
    sync_head_term(session=session, user=user, at=now)
    link.last_sign_in_at = now
    return user
