"""HTTP schemas of the foundation: tokens, users, departments, and the base of every HTML form."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from duban.domain import UserRole
from duban.models import Department, User

Locale = Literal["zh-CN", "zh-TW"]
# Every table's id is a PostgreSQL `integer`; a larger id (or 0, or a negative one) can name no
# row, and passing it on would make the driver fail with a 500 instead of the caller a 422.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


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
    new_password: str = Field(min_length=8, max_length=1024)


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

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class DepartmentUpdate(BaseModel):
    """A department's new display name (admin); the code never changes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


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

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    role: UserRole
    department: str | None = None
    display_name: str = Field(default="", max_length=100)
    email: str | None = Field(default=None, max_length=254)


class UserUpdate(BaseModel):
    """Changes to an account (admin); omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=100)
    role: UserRole | None = None
    department: str | None = None
    email: str | None = Field(default=None, max_length=254)
    is_active: bool | None = None
    password: str | None = Field(default=None, max_length=200)
    locale: Locale | None = None


class MeUpdate(BaseModel):
    """What a user may change on their own account."""

    model_config = ConfigDict(extra="forbid")

    locale: Locale | None = None
    display_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    digest_email: bool | None = None
