"""Jinja2 templates for every page: shared context (user, locale, CSRF, nav), filters, fragments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from duban.domain import UserRole
from duban.rules import number_text
from duban.services.target import TargetTrack
from duban.services.target_chart import Chart, chart_of
from web.i18n import LOCALE_LABELS, LOCALES, SHANGHAI, request_locale, shanghai, t, to_script
from web.security import csrf_token

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
ALL_ROLES = frozenset(UserRole)


@dataclass(frozen=True)
class NavItem:
    """A left-nav link shown to some roles, only once a GET route serves its path."""

    key: str
    path: str
    icon: str
    roles: frozenset[UserRole]
    section: str = "nav.section.work"


NAV: tuple[NavItem, ...] = (
    NavItem("nav.home", "/", "⌂", ALL_ROLES),
    NavItem(
        "nav.assignments",
        "/assignments",
        "✉",
        frozenset({UserRole.STAFF, UserRole.HEAD, UserRole.SUPERVISOR}),
    ),
    NavItem("nav.board", "/board", "◉", frozenset({UserRole.SUPERVISOR})),
    NavItem("nav.reviews", "/reviews", "✔", frozenset({UserRole.SUPERVISOR})),
    NavItem("nav.escalations", "/escalations", "▲", frozenset({UserRole.SUPERVISOR})),
    NavItem("nav.cockpit", "/cockpit", "▤", frozenset({UserRole.SUPERVISOR})),
    NavItem("nav.leader", "/leader", "◆", frozenset({UserRole.LEADER})),
    NavItem("nav.assessment", "/assessment", "★", frozenset({UserRole.ASSESSOR})),
    NavItem("nav.my_score", "/assessment/mine", "★", frozenset({UserRole.STAFF, UserRole.HEAD})),
    NavItem("nav.policies", "/policies", "❏", frozenset({UserRole.ADMIN, UserRole.SUPERVISOR})),
    NavItem("nav.notifications", "/notifications", "✦", ALL_ROLES),
    NavItem("nav.users", "/admin/users", "☺", frozenset({UserRole.ADMIN}), "nav.section.admin"),
    NavItem(
        "nav.departments",
        "/admin/departments",
        "▦",
        frozenset({UserRole.ADMIN}),
        "nav.section.admin",
    ),
)


def served_paths(routers: list[Any]) -> set[str]:
    """Return the paths that some router serves with GET (computed once in create_app)."""
    return {
        route.path
        for router in routers
        for route in router.routes
        if isinstance(route, Route) and "GET" in (route.methods or ())
    }


def nav_for(request: Request, role: str | None) -> list[tuple[str, list[NavItem]]]:
    """Return the nav sections and links the role may see, for routes that exist."""
    if role is None:
        return []
    served: set[str] = getattr(request.app.state, "page_paths", set())
    sections: dict[str, list[NavItem]] = {}
    for item in NAV:
        if role in item.roles and item.path in served:
            sections.setdefault(item.section, []).append(item)
    return list(sections.items())


def base_context(request: Request) -> dict[str, Any]:
    """Return what every page needs: locale, user snapshot, CSRF token, nav."""
    user = getattr(request.state, "user", None)
    return {
        "locale": request_locale(request),
        "locales": [(code, LOCALE_LABELS[code]) for code in LOCALES],
        "current_user": user,
        "csrf_token": csrf_token(request),
        "nav": nav_for(request, user.role if user else None),
        "current_path": request.url.path,
    }


@pass_context
def _t(ctx: Context, key: str, **params: object) -> str:
    return t(key, ctx.get("locale", "zh-CN"), **params)


@pass_context
def _script(ctx: Context, text: object) -> str:
    return to_script("" if text is None else str(text), ctx.get("locale", "zh-CN"))


templates = Jinja2Blocks(directory=TEMPLATE_DIR, context_processors=[base_context])
templates.env.globals["t"] = _t
templates.env.filters["script"] = _script
templates.env.filters["shanghai"] = shanghai
# What each assignment state is called on the pages (assignments/_state_name.html; the policy
# page reads it directly, a thousand rows without a thousand includes).
templates.env.globals["STATE_NAMES"] = {
    "assigned": "待签收",
    "acknowledged": "已签收",
    "in_progress": "办理中",
    "submitted": "已报送待审核",
    "head_review": "待责任人审核",
    "returned": "退回整改",
    "approved": "审核通过",
    "completed": "已办结",
}


def _target_chart(track: TargetTrack) -> Chart:
    """Return the geometry of a target's chart, dated in Beijing time."""
    return chart_of(track, today=datetime.now(SHANGHAI).date())


templates.env.globals["target_chart"] = _target_chart
templates.env.filters["target_number"] = number_text


def is_htmx(request: Request) -> bool:
    """Tell whether htmx sent the request."""
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    """Render a page, or only `block` of it for htmx requests; always `Vary: HX-Request`."""
    block_name = block if block and is_htmx(request) else None
    response: Response = templates.TemplateResponse(
        request, name, context or {}, status_code=status_code, block_name=block_name
    )
    response.headers["Vary"] = "HX-Request"
    return response
