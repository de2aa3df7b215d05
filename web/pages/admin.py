"""Admin pages: users and departments (list, create, edit, deactivate), twins of the admin API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from duban.domain import UserRole
from duban.errors import DomainError
from duban.services import two_factor
from duban.services.department_admin import (
    create_department,
    get_department,
    list_departments,
    member_counts,
    rename_department,
)
from duban.services.user import UserChanges, create_user, get_user, list_users, update_user
from web.deps import AdminUser, SessionDep
from web.rendering import is_htmx, render
from web.schemas import FormModel, RowId
from web.signin import start_session

router = APIRouter(prefix="/admin", include_in_schema=False)
USERS_URL = "/admin/users"
DEPARTMENTS_URL = "/admin/departments"


class UserForm(FormModel):
    """Create or edit an account; on edit an empty password leaves it unchanged."""

    username: str = ""
    password: str = ""
    role: str = UserRole.STAFF.value
    department: str = ""
    display_name: str = ""
    email: str = ""


class ActiveForm(FormModel):
    """Deactivate (0) or reactivate (1) an account."""

    active: int


class DepartmentForm(FormModel):
    """Create a department, or rename it (the code is ignored on edit)."""

    code: str = ""
    name: str = ""


def done(request: Request, url: str) -> Response:
    """Finish a successful form: 303 to a GET, or HX-Location for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Location": url})
    return RedirectResponse(url, status_code=303)


def _user_form_ctx(session: Session, form: UserForm, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "roles": list(UserRole),
        "departments": list_departments(session=session),
        **extra,
    }


@router.get("/users")
def users_page(request: Request, admin: AdminUser, session: SessionDep) -> Response:
    """List every account."""
    ctx = {"users": list_users(session=session), "me": admin.id}
    return render(request, "admin/users.html", ctx, block="user_table")


@router.get("/users/new")
def new_user_page(request: Request, admin: AdminUser, session: SessionDep) -> Response:
    """Show the empty account form."""
    return render(request, "admin/user_form.html", _user_form_ctx(session, UserForm()))


@router.post("/users")
def create_user_page(
    request: Request, admin: AdminUser, session: SessionDep, form: Annotated[UserForm, Form()]
) -> Response:
    """Create an account, or re-show the form with the reason (422)."""
    try:
        create_user(
            session=session,
            username=form.username,
            password=form.password,
            role=form.role,
            department_code=form.department or None,
            display_name=form.display_name,
            email=form.email,
            actor=admin,
        )
    except DomainError as exc:
        ctx = _user_form_ctx(session, form, error=exc.message)
        return render(request, "admin/user_form.html", ctx, status_code=422, block="form")
    return done(request, USERS_URL)


@router.get("/users/{user_id}")
def edit_user_page(
    request: Request, user_id: RowId, admin: AdminUser, session: SessionDep
) -> Response:
    """Show an account's form."""
    user = get_user(session=session, user_id=user_id)
    form = UserForm(
        username=user.username,
        role=user.role,
        department=user.department.code if user.department else "",
        display_name=user.display_name,
        email=user.email or "",
    )
    return render(request, "admin/user_form.html", _user_form_ctx(session, form, user=user))


@router.post("/users/{user_id}")
def update_user_page(
    request: Request,
    user_id: RowId,
    admin: AdminUser,
    session: SessionDep,
    form: Annotated[UserForm, Form()],
) -> Response:
    """Save an account, or re-show the form with the reason (422)."""
    user = get_user(session=session, user_id=user_id)
    changes = UserChanges(
        display_name=form.display_name,
        role=form.role,
        department_code=form.department or None,
        email=form.email,
        password=form.password or None,
    )
    try:
        update_user(session=session, user_id=user_id, changes=changes, acting_user_id=admin.id)
    except DomainError as exc:
        form.username = user.username
        ctx = _user_form_ctx(session, form, user=user, error=exc.message)
        return render(request, "admin/user_form.html", ctx, status_code=422, block="form")
    if user.id == admin.id and form.password:
        # Keep the admin signed in after changing their own password (the factor was shown).
        start_session(
            request, session, user, second_factor=getattr(request.state, "second_factor", False)
        )
    return done(request, USERS_URL)


@router.post("/users/{user_id}/active")
def set_active_page(
    request: Request,
    user_id: RowId,
    admin: AdminUser,
    session: SessionDep,
    form: Annotated[ActiveForm, Form()],
) -> Response:
    """Deactivate or reactivate an account; htmx gets the refreshed table."""
    changes = UserChanges(is_active=bool(form.active))
    update_user(session=session, user_id=user_id, changes=changes, acting_user_id=admin.id)
    if is_htmx(request):
        return users_page(request, admin, session)
    return RedirectResponse(USERS_URL, status_code=303)


def _departments_ctx(session: Session, **extra: Any) -> dict[str, Any]:
    return {
        "departments": list_departments(session=session),
        "members": member_counts(session=session),
        "form": extra.pop("form", DepartmentForm()),
        **extra,
    }


@router.get("/departments")
def departments_page(request: Request, admin: AdminUser, session: SessionDep) -> Response:
    """List departments with the create form."""
    return render(request, "admin/departments.html", _departments_ctx(session))


@router.post("/departments")
def create_department_page(
    request: Request, admin: AdminUser, session: SessionDep, form: Annotated[DepartmentForm, Form()]
) -> Response:
    """Create a department, or re-show the page with the reason (422)."""
    try:
        create_department(session=session, code=form.code, name=form.name)
    except DomainError as exc:
        ctx = _departments_ctx(session, form=form, error=exc.message)
        return render(request, "admin/departments.html", ctx, status_code=422, block="create_form")
    return done(request, DEPARTMENTS_URL)


@router.get("/departments/{code}")
def edit_department_page(
    request: Request, code: str, admin: AdminUser, session: SessionDep
) -> Response:
    """Show a department's form."""
    department = get_department(session=session, code=code)
    form = DepartmentForm(code=department.code, name=department.name)
    return render(request, "admin/department_form.html", {"form": form, "department": department})


@router.post("/departments/{code}")
def rename_department_page(
    request: Request,
    code: str,
    admin: AdminUser,
    session: SessionDep,
    form: Annotated[DepartmentForm, Form()],
) -> Response:
    """Rename a department, or re-show the form with the reason (422)."""
    department = get_department(session=session, code=code)
    try:
        rename_department(session=session, code=code, name=form.name, actor=admin)
    except DomainError as exc:
        form.code = department.code
        ctx = {"form": form, "department": department, "error": exc.message}
        return render(request, "admin/department_form.html", ctx, status_code=422, block="form")
    return done(request, DEPARTMENTS_URL)


@router.post("/users/{user_id}/two-factor/reset")
def reset_two_factor_page(
    user_id: RowId, admin: AdminUser, session: SessionDep, form: Annotated[FormModel, Form()]
) -> Response:
    """Turn a user's second factor off (lost phone): they enrol again at sign-in; audited."""
    two_factor.reset(session=session, user=get_user(session=session, user_id=user_id), actor=admin)
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)
