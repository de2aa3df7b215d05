"""The OpenAPI document, made to say what the app really answers (issue #17 item 10).

FastAPI documents only each route's success and its own 422 shape. This module, in one place,
replaces that 422 with the app's error shape (web/errors.py) and adds the refusals every route
can give: 401 and 403 from the sign-in and role guards and CSRF, 404 where a path names a row,
409 for changes refused by the state of things, 413 from the body limit, 503 + Retry-After for
an outage. A route adds its own particular answers with `responses=` (see `error_responses`).
schemathesis checks the document against the running app (tests/web/test_openapi_contract.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from web.errors import RETRY_AFTER_SECONDS

ERROR_REF = "#/components/schemas/ErrorRead"
# The operations a client uses before it has credentials.
PUBLIC_OPERATIONS = frozenset({("post", "/api/v1/auth/token")})
DESCRIPTIONS = {
    400: "The body could not be decoded (not JSON, or broken multipart)",
    401: "Not signed in, or the token or session has ended",
    403: "The role may not do this, a new password must be chosen first, or the CSRF token is missing",
    404: "No such row, or not visible to the caller",
    409: "Refused by the current state (already done, stale version, duplicate)",
    413: "The body is over the upload limit",
    415: "The body's media type is not one this operation reads",
    422: "The input is malformed or out of range",
    429: "Too many failed sign-ins: wait before trying again",
    503: "Temporal, the worker or the database is unavailable: send it again later",
}


class FieldError(BaseModel):
    """Where a validation error is (`["body", "rating"]`) and what is wrong."""

    loc: list[str | int]
    msg: str


class ErrorRead(BaseModel):
    """Every error answer of the API: a Chinese `detail`, a stable `code` for some."""

    detail: str = Field(description="一句中文说明 / one line for people")
    code: str | None = Field(default=None, description="e.g. password_change_required, csrf")
    errors: list[FieldError] | None = Field(default=None, description="the fields at fault (422)")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return a route's `responses=` mapping for these particular error statuses."""
    return {
        status: {"model": ErrorRead, "description": DESCRIPTIONS[status]} for status in statuses
    }


def _error(status: int, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {
    "Retry-After": {
        "description": f"seconds to wait ({RETRY_AFTER_SECONDS})",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
WWW_AUTHENTICATE = {"WWW-Authenticate": {"schema": {"type": "string"}, "required": False}}


def _takes_input(operation: dict[str, Any]) -> bool:
    return bool(operation.get("parameters")) or "requestBody" in operation


def _common_errors(path: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the refusals this operation can give whatever it does."""
    errors = {
        "401": _error(401, WWW_AUTHENTICATE),
        "403": _error(403),
        "503": _error(503, RETRY_AFTER),
    }
    if "{" in path:
        errors["404"] = _error(404)
    if "requestBody" in operation:
        errors["400"] = _error(400)
        errors["413"] = _error(413)
    if _takes_input(operation):
        errors["422"] = _error(422)
    return errors


def _document_operation(method: str, path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in _common_errors(path, operation).items():
        if status == "422" or status not in responses:
            responses[status] = response
    for status, response in responses.items():
        content = response.get("content", {}).get("application/json", {})
        if status.startswith(("4", "5")) and content.get("schema", {}).get("$ref") != ERROR_REF:
            response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
        if status == "503":
            response.setdefault("headers", RETRY_AFTER)
    if (method, path) not in PUBLIC_OPERATIONS:
        operation["security"] = [{"bearer": []}, {"session": []}]


def _add_components(schema: dict[str, Any]) -> None:
    components: dict[str, Any] = schema.setdefault("components", {})
    models: dict[str, Any] = components.setdefault("schemas", {})
    models.pop("HTTPValidationError", None)
    models.pop("ValidationError", None)
    error = ErrorRead.model_json_schema(ref_template="#/components/schemas/{model}")
    models.update(error.pop("$defs", {}))
    models["ErrorRead"] = error
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"},
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "duban_session",
            "description": "the browser's session; unsafe methods also need X-CSRF-Token",
        },
    }


def contract_openapi(app: FastAPI) -> dict[str, Any]:
    """Build (once) the app's OpenAPI document with every error answer documented."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    _add_components(schema)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            _document_operation(method, path, operation)
    app.openapi_schema = schema
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the documented contract at /openapi.json."""
    app.openapi = lambda: contract_openapi(app)  # type: ignore[method-assign]
