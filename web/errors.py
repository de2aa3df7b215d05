"""Error responses: JSON `{"detail"}` for the API and for non-browsers, an HTML page for browsers."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match

from actions.clients import TemporalUnavailable
from duban.errors import DomainError
from web.deps import AccountStepRequired, SignInRequired
from web.i18n import t
from web.rendering import is_htmx, render

log = logging.getLogger(__name__)
# 400 is FastAPI's answer to a body it cannot decode (not JSON, broken multipart).
STATUS_MESSAGES = {
    400: "error.invalid",
    404: "error.not_found",
    405: "error.method",
    403: "error.forbidden",
}
# An outage (Temporal, the worker or the database) is answered with 503 and this hint; every
# action carries an idempotency key, so a client may simply send it again.
RETRY_AFTER_SECONDS = 5
ALLOW_CANDIDATES = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def wants_html(request: Request) -> bool:
    """Tell whether a browser page (not the API) made the request."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or is_htmx(request)


def error_response(request: Request, status: int, detail: str, **extra: object) -> Response:
    """Return `{"detail"}` JSON, or the error page for browsers."""
    if wants_html(request):
        return render(
            request, "error.html", {"status": status, "detail": detail}, status_code=status
        )
    return JSONResponse({"detail": detail, **extra}, status_code=status)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    """Map a DomainError to its 4xx (503 + Retry-After for `Unavailable`)."""
    assert isinstance(exc, DomainError)
    extra = {"code": exc.code} if getattr(exc, "expose_code", False) else {}
    response = error_response(request, exc.status, exc.message, **extra)
    if exc.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    """Answer 401 to the API, send pages to the sign-in form."""
    assert isinstance(exc, SignInRequired)
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"detail": exc.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    target = "/login?next=" + quote(request.url.path, safe="/")
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def on_account_step_required(request: Request, exc: Exception) -> Response:
    """Send pages to the step (new password, enrol a second factor); the API gets 403 + code."""
    assert isinstance(exc, AccountStepRequired)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=403)
    if is_htmx(request):
        return Response(status_code=403, headers={"HX-Redirect": exc.page})
    return RedirectResponse(exc.page, status_code=303)


async def on_temporal_unavailable(request: Request, exc: Exception) -> Response:
    """Answer 503 + Retry-After when Temporal is down or did not answer in time."""
    response = error_response(request, 503, t("error.temporal"))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def on_database_unavailable(request: Request, exc: Exception) -> Response:
    """Answer 503 + Retry-After when the database is down or no pooled connection came in time."""
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    response = error_response(request, 503, t("error.database"))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def on_validation_error(request: Request, exc: Exception) -> Response:
    """Answer 422 with a one-line Chinese detail and the field errors."""
    assert isinstance(exc, RequestValidationError)
    fields = [".".join(str(p) for p in err.get("loc", ())[1:]) for err in exc.errors()]
    detail = t("error.invalid") + (f"：{'、'.join(f for f in fields if f)}" if fields else "")
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    return error_response(request, 422, detail, errors=errors)


def allowed_methods(request: Request) -> str:
    """Return every method some route serves at this path (Starlette names only one route's)."""
    allowed = []
    for method in ALLOW_CANDIDATES:
        # A fresh scope per try: matching may note things in the scope it is given.
        scope = {
            "type": "http",
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "method": method,
            "headers": [],
            "query_string": b"",
        }
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Translate Starlette's 404/405 and friends into Chinese."""
    assert isinstance(exc, StarletteHTTPException)
    key = STATUS_MESSAGES.get(exc.status_code)
    detail = t(key) if key else str(exc.detail)
    response = error_response(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = allowed_methods(request)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on the app."""
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(AccountStepRequired, on_account_step_required)
    app.add_exception_handler(TemporalUnavailable, on_temporal_unavailable)
    for outage in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(outage, on_database_unavailable)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
