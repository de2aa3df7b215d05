"""Query parameters of paged lists: page, page size and search, validated (bad values are 422)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query

from duban.services.paging import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE

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
