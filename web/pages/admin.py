"""Admin pages: users and departments (list, create, edit, deactivate), twins of the admin API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from duban.domain import UserRole
from duban.errors import DomainError
from duban.models import User
from duban.services import two_factor
from duban.services.department_admin import (
    create_department,
    get_department,
    list_departments,
    member_counts,
    rename_department,
)
from duban.services.leader import remit, set_remit
from duban.services.paging import paginate
from duban.services.user import UserChanges, create_user, get_user, list_users, update_user
from web.deps import AdminUser, SessionDep
from web.paging import NO_PAGING, PageDep, PageParams, list_url
from web.rendering import is_htmx, render
from web.schemas import FormModel, RowId
from web.signin import start_session

router = APIRouter(prefix="/admin", include_in_schema=False)
FLASH = "flash"  # a one-time success note on the list the action returns to
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


def done(request: Request, url: str, message: str = "已保存。") -> Response:
    """Finish a successful form: 303 to a GET, or HX-Location for htmx; `message` shows there once."""
    request.session[FLASH] = message
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Location": url})
    return RedirectResponse(url, status_code=303)


def _user_form_ctx(session: Session, form: UserForm, **extra: Any) -> dict[str, Any]:
    user = extra.get("user")
    return {
        "form": form,
        "roles": list(UserRole),
        "departments": list_departments(session=session),
        "remit": (
            {d.code for d in remit(session=session, user=user)}
            if isinstance(user, User) and user.role == UserRole.LEADER
            else None
        ),
        **extra,
    }


def _user_matches(user: User, q: str) -> bool:
    dept = user.department.name if user.department else ""
    return any(q in text for text in (user.username, user.display_name, dept))


@router.get("/users")
def users_page(
    request: Request, admin: AdminUser, session: SessionDep, paging: PageDep
) -> Response:
    """List the accounts, searchable by name or department, a page at a time."""
    users = [u for u in list_users(session=session) if _user_matches(u, paging.q)]
    pg = paginate(users, page=paging.page, size=paging.size)
    ctx = {"users": pg.items, "pg": pg, "q": paging.q, "me": admin.id}
    ctx["flash"] = request.session.pop(FLASH, None)
    ctx["page_url"] = list_url(USERS_URL, paging)
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
    return done(request, USERS_URL, "账号已创建。")


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
    return done(request, USERS_URL, "账号已保存。")


class RemitForm(FormModel):
    """The departments a leader oversees (checked codes)."""

    departments: list[str] = Field(default_factory=list, max_length=500)


@router.post("/users/{user_id}/departments")
def remit_page(
    request: Request,
    user_id: RowId,
    admin: AdminUser,
    session: SessionDep,
    form: Annotated[RemitForm, Form()],
) -> Response:
    """Save a leader's departments (their remit), or re-show the form with the reason (422)."""
    leader = get_user(session=session, user_id=user_id)
    try:
        set_remit(session=session, leader=leader, codes=form.departments, actor=admin)
    except DomainError as exc:
        session.rollback()
        leader = get_user(session=session, user_id=user_id)
        user_form = UserForm(username=leader.username, role=leader.role)
        ctx = _user_form_ctx(session, user_form, user=leader, error=exc.message)
        return render(request, "admin/user_form.html", ctx, status_code=422)
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
    request.session[FLASH] = "账号已启用。" if form.active else "账号已停用。"
    if is_htmx(request):
        return users_page(request, admin, session, NO_PAGING)
    return RedirectResponse(USERS_URL, status_code=303)


def _departments_ctx(
    session: Session, paging: PageParams = NO_PAGING, **extra: Any
) -> dict[str, Any]:
    q = paging.q
    found = [d for d in list_departments(session=session) if q in d.name or q in d.code]
    pg = paginate(found, page=paging.page, size=paging.size)
    return {
        "departments": pg.items,
        "pg": pg,
        "q": q,
        "page_url": list_url("/admin/departments", paging),
        "members": member_counts(session=session),
        "form": extra.pop("form", DepartmentForm()),
        **extra,
    }


@router.get("/departments")
def departments_page(
    request: Request, admin: AdminUser, session: SessionDep, paging: PageDep
) -> Response:
    """List departments (searchable, a page at a time) with the create form."""
    flash = request.session.pop(FLASH, None)
    return render(request, "admin/departments.html", _departments_ctx(session, paging, flash=flash))


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
    return done(request, DEPARTMENTS_URL, "单位已添加。")


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
    return done(request, DEPARTMENTS_URL, "单位名称已修改。")


@router.post("/users/{user_id}/two-factor/reset")
def reset_two_factor_page(
    user_id: RowId, admin: AdminUser, session: SessionDep, form: Annotated[FormModel, Form()]
) -> Response:
    """Turn a user's second factor off (lost phone): they enrol again at sign-in; audited."""
    two_factor.reset(session=session, user=get_user(session=session, user_id=user_id), actor=admin)
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)
