"""Page parameters and page envelopes for list endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000
"""The highest page number any list answers (20 million rows at the largest page size): beyond it the offset
would overflow PostgreSQL's ``bigint`` long before any list is that long."""


class PageParams(BaseModel):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    more: bool = Field(
        False, description="more items match than `total` counts (a count that stops, as the public search's)"
    )

    @classmethod
    def of(cls, items: Sequence[T], total: int, paging: PageParams, *, more: bool = False) -> Page[T]:
        """The page of ``items`` (``total`` in all) asked for by ``paging``."""
        return cls(items=list(items), total=total, page=paging.page, page_size=paging.page_size, more=more)
