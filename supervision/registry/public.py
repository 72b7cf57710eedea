"""The public view of the registry (公开信息): what parents may see, and nothing more."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from supervision.core.pagination import PageParams
from supervision.registry import queries
from supervision.registry import service as registry

PUBLIC_SEARCH_FIELDS = (
    "uscc",
    "name",
    "status",
    "district",
    "grid",
    "address",
    "categories",
    "licence_number",
    "licence_status",
    "licence_valid_until",
)


def search(
    session: Session, *, q: str | None, grid: str | None, category: str | None, paging: PageParams
) -> tuple[int, list[dict[str, Any]]]:
    total, rows = queries.search(
        session, q=q, grid=grid, category=category, status=None, limit=paging.page_size, offset=paging.offset
    )
    return total, [{k: r[k] for k in PUBLIC_SEARCH_FIELDS} for r in rows]


def grids(session: Session) -> list[str]:
    return queries.grids(session)


def public_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Strip an institution document to its public fields."""
    lic = doc["licence"]
    esc = doc["escrow"]
    return {
        "uscc": doc["uscc"],
        "name": doc["name"],
        "nature": doc["nature"],
        "status": doc["status"],
        "district": doc["district"],
        "grid": doc["grid"],
        "address": doc["address"],
        "licence": lic,
        "escrow": {
            "supervised": bool(esc and esc["mode"]),
            "mode": esc["mode"] if esc else None,
            "bank": esc["bank"] if esc else None,
        },
        "premises": [{"address": p["address"]} for p in doc["premises"]],
        "courses": [
            {
                k: c[k]
                for k in (
                    "title",
                    "category",
                    "subject",
                    "stages",
                    "mode",
                    "class_size_max",
                    "lesson_minutes",
                    "price_per_lesson_fen",
                )
            }
            for c in doc["courses"]
        ],
    }


def record(session: Session, uscc: str) -> dict[str, Any]:
    return public_document(registry.get(session, uscc))
