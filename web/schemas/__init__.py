"""HTTP schemas of the foundation: tokens, users, departments, and the base of every HTML form."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
)

from duban.domain import UserRole
from duban.models import Department, User
from duban.services.user import MIN_PASSWORD_LENGTH

Locale = Literal["zh-CN", "zh-TW"]
# Every table's id is a PostgreSQL `integer`; a larger id (or 0, or a negative one) can name no
# row, and passing it on would make the driver fail with a 500 instead of the caller a 422.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


def json_integer(value: object) -> object:
    """Let only a JSON integer through: a number with no fraction (7 or 7.0), never "7" or true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("应为整数")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("应为整数")
        return int(value)
    return value


# In a JSON body an integer must be a JSON integer, as the schema says: not coerced from text.
BodyInt = Annotated[int, Field(ge=0, le=MAX_ROW_ID), BeforeValidator(json_integer)]
BodyRowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID), BeforeValidator(json_integer)]
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$", re.ASCII
)


def _rfc3339_text(value: object) -> object:
    """Let only RFC 3339 text (what `format: date-time` promises) through to the parser."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValueError("应为带时区的 ISO 8601 时间，如 2026-06-30T18:00:00+08:00")
    return value


# A date-time in a JSON body: RFC 3339 text, never a number or a date alone. One without a
# zone gets through to the action, which refuses it with a message that asks for the zone.
BodyDateTime = Annotated[datetime, BeforeValidator(_rfc3339_text)]
# What the services accept after trimming (department_admin.CODE_RE, user.USERNAME_RE,
# notification.EMAIL_RE); models using them match with Python's `re` like the services do.
CODE_PATTERN = r"^\s*[a-z0-9][a-z0-9_.-]{1,63}\s*$"
USERNAME_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9_.-]{1,63}\s*$"
NOT_BLANK = r"\S"
# Empty clears the address.
EMAIL_PATTERN = r"^\s*([^@\s]+@[^@\s]+\.[^@\s]+)?\s*$"
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
# The password policy's length; it also refuses blank, repetitive and common passwords (422).
PASSWORD_MIN_CHARS = MIN_PASSWORD_LENGTH


class FormModel(BaseModel):
    """Base of page forms: unknown fields are refused; the CSRF field is allowed and ignored."""

    model_config = ConfigDict(extra="forbid")

    csrf_token: str = ""


class TokenRequest(BaseModel):
    """Credentials exchanged for a bearer token."""

    username: str
    password: str
    otp: str | None = Field(
        default=None, max_length=64, description="TOTP or recovery code, when the account has one"
    )


class PasswordChange(BaseModel):
    """One's own password change: the current password and the new one."""

    current_password: str = Field(max_length=1024)
    new_password: str = Field(min_length=PASSWORD_MIN_CHARS, max_length=1024)


class TokenRead(BaseModel):
    """A signed bearer token for `Authorization: Bearer …`."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class DepartmentRead(BaseModel):
    """A department as the API shows it."""

    code: str
    name: str

    @classmethod
    def of(cls, department: Department) -> DepartmentRead:
        """Build from the ORM row."""
        return cls(code=department.code, name=department.name)


class DepartmentCreate(BaseModel):
    """A new department (admin)."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    code: str = Field(max_length=64, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)


class DepartmentUpdate(BaseModel):
    """A department's new display name (admin); the code never changes."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    name: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)


class UserRead(BaseModel):
    """An account as the API shows it (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: UserRole
    department: DepartmentRead | None
    email: str | None
    locale: str | None
    is_active: bool
    digest_email: bool = True

    @classmethod
    def of(cls, user: User) -> UserRead:
        """Build from the ORM row."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=UserRole(user.role),
            department=DepartmentRead.of(user.department) if user.department else None,
            email=user.email,
            locale=user.locale,
            is_active=user.is_active,
            digest_email=user.digest_email,
        )


class UserCreate(BaseModel):
    """A new account (admin); `department` is a code, required for staff and head."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    username: str = Field(max_length=64, pattern=USERNAME_PATTERN)
    password: str = Field(min_length=PASSWORD_MIN_CHARS, max_length=200)
    role: UserRole
    department: str | None = None
    display_name: str = Field(default="", max_length=100)
    email: Email | None = None


class UserUpdate(BaseModel):
    """Changes to an account (admin); omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    display_name: str | None = Field(default=None, max_length=100)
    role: UserRole | None = None
    department: str | None = None
    email: Email | None = None
    is_active: StrictBool | None = None
    password: str | None = Field(default=None, min_length=PASSWORD_MIN_CHARS, max_length=200)
    locale: Locale | None = None


class MeUpdate(BaseModel):
    """What a user may change on their own account."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    locale: Locale | None = None
    display_name: str | None = Field(default=None, max_length=100)
    email: Email | None = None
    digest_email: StrictBool | None = None
