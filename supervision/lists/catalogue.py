"""The rule catalogue as the public sees it (负面清单): titles, plain descriptions with the parameters in
force, and legal bases, cached per process (the catalogue changes only with a deployment, the parameters in
force only with the date)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

AREAS = ("licensing", "ban", "time", "fees", "staff", "premises", "registry", "conduct")


@lru_cache(maxsize=1)
def known_ids() -> frozenset[str]:
    from rules import all_rules

    return frozenset(r.id for r in all_rules())


@lru_cache(maxsize=8)
def _rows(jurisdiction: str, as_of: dt.date) -> tuple[dict[str, Any], ...]:
    from supervision.core.rulebook import context

    ctx = context(jurisdiction, as_of)
    return tuple(ctx.rules_in_force())


def negative_list(jurisdiction: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Every rule with its descriptions filled for ``as_of``, grouped order: area, then ID."""
    order = {a: i for i, a in enumerate(AREAS)}
    return sorted(_rows(jurisdiction, as_of), key=lambda r: (order.get(r["area"], 99), r["id"]))


def by_id(jurisdiction: str, as_of: dt.date) -> dict[str, dict[str, Any]]:
    return _by_id(jurisdiction, as_of)


@lru_cache(maxsize=8)
def _by_id(jurisdiction: str, as_of: dt.date) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in _rows(jurisdiction, as_of)}
