"""One structured log line per HTTP request, and a request id on every line logged meanwhile.

The id comes from the client's `X-Request-ID` (a proxy's, when it is short and plain) or is
generated; it is echoed in the response's `X-Request-ID` and bound (structlog contextvars)
for every line the request logs. The closing line names the route template, the status, the
signed-in user's id and the duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.metrics import route_of

HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
log = logging.getLogger("duban.web.request")
# Probes and scrapes come every few seconds: logged at DEBUG only.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id_of(scope: Scope) -> str:
    """Return the client's X-Request-ID when it is a plain token of up to 64 chars, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given = bytes(value).decode("latin-1").strip()
            if _SAFE_ID.match(given):
                return given
    return uuid.uuid4().hex


def _user_id(scope: Scope) -> int | None:
    viewer = (scope.get("state") or {}).get("user")
    user_id = getattr(viewer, "id", None)
    return user_id if isinstance(user_id, int) else None


class RequestLogMiddleware:
    """Bind a request id for the request's log lines and log the request when it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its id bound, echo the id, then log one line."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        started = time.perf_counter()
        status = 500

        async def tagging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, tagging_send)
            finally:
                route = route_of(scope)
                level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
                fields = {
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "user_id": _user_id(scope),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                }
                log.log(level, "request", extra=fields)
