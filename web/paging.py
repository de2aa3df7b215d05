"""Query parameters of paged lists, validated (bad values are 422): page, page size and search
for the pages; limit and a keyset cursor for the API's lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response

from duban.services.paging import (
    API_LIMIT,
    CURSOR_MAX_CHARS,
    MAX_API_LIMIT,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    SortKey,
    Window,
    keyset_window,
)
from web.openapi import error_responses

T = TypeVar("T")

SEARCH_MAX_CHARS = 100


@dataclass(frozen=True)
class PageParams:
    """Which page of how many rows, and the search text (stripped)."""

    page: int
    size: int
    q: str


def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=5, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
    q: Annotated[str, Query(max_length=SEARCH_MAX_CHARS)] = "",
) -> PageParams:
    """Read page, size and q from the query string."""
    return PageParams(page, size, q.strip())


PageDep = Annotated[PageParams, Depends(page_params)]
NO_PAGING = PageParams(1, PAGE_SIZE, "")


def list_url(path: str, paging: PageParams) -> Callable[[int], str]:
    """Return page number -> the list's URL with the same search and page size."""

    def url(n: int) -> str:
        size = paging.size if paging.size != PAGE_SIZE else None
        query = {"q": paging.q, "page": n, "size": size}
        return path + "?" + urlencode({k: v for k, v in query.items() if v})

    return url


@dataclass(frozen=True)
class CursorParams:
    """How many rows an API list answers at most, and after which cursor (None: from the start)."""

    limit: int
    cursor: str | None


# A list's cursor in the query string: one its previous answer handed out (bad ones are 422).
CursorQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=CURSOR_MAX_CHARS,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the `next` cursor of the previous answer (its Link header names it too)",
    ),
]


def cursor_params(
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_API_LIMIT, description=f"rows per answer (default {API_LIMIT})"),
    ] = API_LIMIT,
    cursor: CursorQuery = None,
) -> CursorParams:
    """Read limit and cursor from the query string (bad ones are 422)."""
    return CursorParams(limit, cursor)


CursorDep = Annotated[CursorParams, Depends(cursor_params)]
LEDGER_LIMIT = 100  # a ledger's scored periods per answer by default (each gives 1-7 lines)


def ledger_cursor_params(
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_API_LIMIT,
            description=f"scored periods per answer, all lines of each (default {LEDGER_LIMIT})",
        ),
    ] = LEDGER_LIMIT,
    cursor: CursorQuery = None,
) -> CursorParams:
    """Read a ledger's limit and cursor from the query string (bad ones are 422)."""
    return CursorParams(limit, cursor)


NEXT_HEADERS = {
    "Link": {
        "description": 'the next rows: `<URL>; rel="next"` (absent on the last answer)',
        "schema": {"type": "string"},
    },
    "X-Next-Cursor": {
        "description": "the cursor of the next rows (absent on the last answer)",
        "schema": {"type": "string"},
    },
}
# A paged list's `responses=`: the next-page headers on 200, the 422 of a bad limit or cursor.
PAGED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "One window of the list", "headers": NEXT_HEADERS},
    **error_responses(422),
}


def window(
    request: Request,
    response: Response,
    rows: Sequence[T],
    *,
    key: Callable[[T], SortKey],
    paging: CursorParams,
) -> Window[T]:
    """One keyset window of `rows`; when more follow, name them in Link and X-Next-Cursor."""
    found = keyset_window(rows, key=key, cursor=paging.cursor, limit=paging.limit)
    name_next(request, response, found.next, paging)
    return found


def name_next(
    request: Request, response: Response, cursor: str | None, paging: CursorParams
) -> None:
    """Name the next window in Link and X-Next-Cursor (nothing when this was the last)."""
    if cursor is not None:
        url = request.url.include_query_params(cursor=cursor, limit=paging.limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
        response.headers["X-Next-Cursor"] = cursor
