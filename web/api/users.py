"""`/api/v1/users`: the admin's management of accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from duban.services import two_factor
from duban.services.user import (
    UserChanges,
    create_user,
    get_user,
    list_users,
    update_user,
    user_order,
)
from web.deps import AdminUser, SessionDep
from web.openapi import error_responses
from web.paging import PAGED_RESPONSES, CursorDep, window
from web.schemas import RowId, UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"])
# A taken username; deactivating or demoting oneself.
CONFLICT = error_responses(409)


@router.get("", response_model=list[UserRead], responses=PAGED_RESPONSES)
def list_all(
    request: Request, response: Response, admin: AdminUser, session: SessionDep, paging: CursorDep
) -> list[UserRead]:
    """List the accounts, admins first, then by username; `limit` at a time, the rest named by
    the Link header."""
    part = window(request, response, list_users(session=session), key=user_order, paging=paging)
    return [UserRead.of(u) for u in part.items]


@router.post("", response_model=UserRead, status_code=201, responses=CONFLICT)
def create(body: UserCreate, admin: AdminUser, session: SessionDep) -> UserRead:
    """Create an account; staff and head need a department code."""
    user = create_user(
        session=session,
        username=body.username,
        password=body.password,
        role=body.role,
        department_code=body.department,
        display_name=body.display_name,
        email=body.email,
        actor=admin,
    )
    return UserRead.of(user)


@router.get("/{user_id}", response_model=UserRead)
def read(user_id: RowId, admin: AdminUser, session: SessionDep) -> UserRead:
    """Return one account."""
    return UserRead.of(get_user(session=session, user_id=user_id))


@router.patch("/{user_id}", response_model=UserRead, responses=CONFLICT)
def update(user_id: RowId, body: UserUpdate, admin: AdminUser, session: SessionDep) -> UserRead:
    """Change an account: name, role, department, e-mail, password, locale, or deactivate it."""
    changes = UserChanges(
        display_name=body.display_name,
        role=body.role,
        department_code=body.department,
        email=body.email,
        is_active=body.is_active,
        password=body.password,
        locale=body.locale,
    )
    user = update_user(session=session, user_id=user_id, changes=changes, acting_user_id=admin.id)
    return UserRead.of(user)


@router.post("/{user_id}/two-factor/reset", status_code=204)
def reset_two_factor(user_id: RowId, admin: AdminUser, session: SessionDep) -> Response:
    """Turn a user's second factor off (lost phone and codes); every session of theirs ends."""
    two_factor.reset(session=session, user=get_user(session=session, user_id=user_id), actor=admin)
    return Response(status_code=204)
