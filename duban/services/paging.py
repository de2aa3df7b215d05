"""Offset paging: one page of rows and where it stands in the whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Paged(Generic[T]):
    """The rows of one page (1-based), the page size and how many rows there are in all."""

    items: list[T]
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """Return how many pages the rows fill (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """Return the 1-based position of the page's first row (0 when empty)."""
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        """Return the 1-based position of the page's last row."""
        return self.first + len(self.items) - 1 if self.items else 0


def paginate(rows: Sequence[T], *, page: int, size: int) -> Paged[T]:
    """Return one page of rows already in memory (a page past the end is empty, not an error)."""
    start = (page - 1) * size
    return Paged(list(rows[start : start + size]), page, size, len(rows))
