"""The app's route table as the tests see it: every (method, path) of pages and API, walked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def walk(routes: list[Any]) -> Iterator[Any]:
    """Yield every route, looking inside included routers (FastAPI keeps them nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from walk(inner.routes)
        else:
            yield route


def route_keys(app: FastAPI) -> list[str]:
    """Return "METHOD /path/{param}" for every route of the app (HEAD and mounts left out)."""
    keys = []
    for route in walk(app.routes):
        if isinstance(route, Mount) or not isinstance(route, APIRoute | Route):
            continue
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":
                keys.append(f"{method} {route.path}")
    return keys


def concrete(path: str, value: str = "1") -> str:
    """Fill every path parameter with `value`."""
    return PARAM.sub(value, path)


def is_api(path: str) -> bool:
    """Return whether the path belongs to the JSON API (401 rather than a redirect)."""
    return path.startswith("/api/")
