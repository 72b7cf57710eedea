"""The parents' institution search (家长查询): search with list status, and an institution's status explained.

The status shown is the one *published*: an institution's entry in the latest edition of each list, with the
rule or conduct IDs and the decision references of its ``reason`` resolved into plain words, the legal basis,
since when and until when. An institution on no list is told which white-list conditions it does not meet.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine

from supervision.core.errors import NotFound
from supervision.core.pagination import PageParams
from supervision.lists import catalogue, queries
from supervision.lists import service as lists
from supervision.registry.schemas import PUBLIC_SEARCH_FIELDS

COUNT_CAP = 1000
"""Matches are counted up to this many; past it the page says "more than 1,000" and offers the first 1,000."""


class BroadPages:
    """Which institutions a broad search shows on a page, remembered for :data:`BROAD_TTL` seconds. A search
    matching more than :data:`COUNT_CAP` institutions (a fragment such as 广州 or 培训中心) is the costly
    kind: counting its matches and walking the names in order is the most expensive work of a public
    search, and the same few fragments come back again and again (bench/RESULTS.md has the figures).
    Only the page's ids are remembered, per process: the fields and list status shown are read fresh for
    every request, so what is stale for at most a minute is which institutions a broad fragment lists on
    that page (a new or renamed institution joins them by then). Narrow searches, a credit code or
    licence number among them, are never remembered: they are cheap, and their answer is always current.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._pages: dict[tuple[Any, ...], tuple[float, list[int]]] = {}

    def get(self, key: tuple[Any, ...]) -> list[int] | None:
        hit = self._pages.get(key)
        if hit is None or hit[0] <= self.clock():
            return None
        return hit[1]

    def put(self, key: tuple[Any, ...], ids: list[int]) -> None:
        now = self.clock()
        if len(self._pages) >= self.size:
            self._pages = {k: v for k, v in self._pages.items() if v[0] > now}
            while len(self._pages) >= self.size:  # all current: drop the oldest
                del self._pages[next(iter(self._pages))]
        self._pages[key] = (now + self.ttl, ids)


BROAD_TTL = 60.0
_broad_pages = BroadPages(BROAD_TTL, size=4096)


@dataclass
class SearchResult:
    total: int
    """Matches counted, at most :data:`COUNT_CAP`."""
    more: bool
    """More institutions match than ``total`` (the count stopped)."""
    items: list[dict[str, Any]]


async def search(
    engine: Engine,
    *,
    q: str | None,
    grid: str | None,
    category: str | None,
    list_kind: str | None,
    paging: PageParams,
) -> SearchResult:
    """Search by name fragment, credit code or licence number, with filters (grid, category, list); each
    hit with its public fields and its current list status. Three statements: a count that stops past
    :data:`COUNT_CAP`; the page's ids in name order; their public fields and list status. The first two
    are planned for their values every time (never prepared: a prepared statement soon runs a generic plan,
    and the best plan for a credit code, one index probe, is not the one for a two-character fragment).
    A broad search's page of ids is remembered for a minute (:class:`BroadPages`)."""
    if list_kind:
        lists.check_kinds([list_kind])
    condition, params = queries.search_condition(q=q, grid=grid, category=category, list_kind=list_kind)
    params["offset"] = paging.offset
    key = (q, grid, category, list_kind, paging.offset, paging.page_size, COUNT_CAP)
    ids = _broad_pages.get(key)
    if ids is not None:
        total, more = COUNT_CAP, True
    else:
        counted = await queries.count_matches(engine, condition, params, cap=COUNT_CAP + 1)
        total, more = min(counted, COUNT_CAP), counted > COUNT_CAP
        if paging.offset >= total:
            return SearchResult(total, more, [])
        params["limit"] = min(paging.page_size, total - paging.offset)
        ids = await queries.page_ids(engine, condition, params, in_name_order=more)
        if more:
            _broad_pages.put(key, ids)
    rows = await queries.search_page(engine, ids)
    items = []
    for r in rows:
        item = {k: r[k] for k in PUBLIC_SEARCH_FIELDS}
        item["list"] = (
            {
                "kind": r["list_kind"],
                "since": r["list_since"],
                "reason": r["list_reason"],
                "rule_ids": rule_ids(r["list_reason"]),
            }
            if r["list_kind"]
            else None
        )
        items.append(item)
    return SearchResult(total, more, items)


def rule_ids(reason: str | None) -> list[str]:
    return [i for ids, _ in lists.parse_reason(reason) for i in ids]


def _history_periods(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive editions of one list collapsed into periods, newest first."""
    periods: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: (r["kind"], r["seq"])):
        last = periods[-1] if periods else None
        if last and last["kind"] == r["kind"] and last["to_seq"] + 1 == r["seq"]:
            last.update(to_seq=r["seq"], to=r["as_of"], reason=r["reason"])
        else:
            periods.append(
                {
                    "kind": r["kind"],
                    "from_seq": r["seq"],
                    "to_seq": r["seq"],
                    "from": r["as_of"],
                    "to": r["as_of"],
                    "since": r["since"],
                    "reason": r["reason"],
                }
            )
    return sorted(periods, key=lambda p: p["to"], reverse=True)


def explain(
    reason: str | None, decision_rows: list[dict[str, Any]], rules: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each ground of a reason with its rules (title, plain description, legal basis) and decision."""
    by_ref = {d["reference"]: d for d in decision_rows}
    grounds = []
    for ids, reference in lists.parse_reason(reason):
        grounds.append(
            {
                "reference": reference,
                "decision": by_ref.get(reference) if reference else None,
                "rules": [
                    rules.get(
                        i,
                        {
                            "id": i,
                            "title_zh": i,
                            "title_en": i,
                            "description_zh": "",
                            "description_en": "",
                            "legal_basis": "",
                        },
                    )
                    for i in ids
                ],
            }
        )
    return grounds


_DATE_FIELDS = ("as_of", "since", "decided_on", "effective_from", "deadline", "until", "lifted_on")


def _dates(row: dict[str, Any]) -> dict[str, Any]:
    for k in _DATE_FIELDS:
        v = row.get(k)
        if isinstance(v, str):
            row[k] = dt.date.fromisoformat(v)
    return row


async def institution(engine: Engine, uscc: str, *, today: dt.date, jurisdiction: str) -> dict[str, Any]:
    """The public record with its list status explained (the grounds: rules in plain words with their legal
    basis, and the decision), its public decisions, its list history, and, when it is not on the white list,
    which white-list conditions it does not meet. One statement, read through :mod:`readpool`."""
    raw = await queries.public_record(engine, uscc)
    data = orjson.loads(raw)
    if data["doc"] is None:
        raise NotFound(f"no institution with credit code {uscc}")
    rows = [_dates(r) for r in data["history"]]
    decision_rows = [_dates(d) for d in data["decisions"]]
    current = next((r for r in rows if r["current"]), None)
    rules = catalogue.by_id(jurisdiction, today)
    status: dict[str, Any] | None = None
    if current is not None:
        status = {
            "kind": current["kind"],
            "seq": current["seq"],
            "as_of": current["as_of"],
            "since": current["since"],
            "reason": current["reason"],
            "grounds": explain(current["reason"], decision_rows, rules),
        }
    not_white: list[str] = []
    if current is None or current["kind"] != "white":
        checks = _dates(data["white"])
        for k in ("issued_on", "valid_until"):
            if isinstance(checks.get(k), str):
                checks[k] = dt.date.fromisoformat(checks[k])
        not_white = lists.white_failures(checks, today)
    return {
        **data["doc"],
        "list": status,
        "not_white": not_white,
        "decisions": decision_rows,
        "history": _history_periods(rows),
    }


async def institution_json(engine: Engine, uscc: str, *, today: dt.date, jurisdiction: str) -> dict[str, Any]:
    """:func:`institution` with each ground's rules reduced to their ID, titles, severity and legal basis."""
    out = await institution(engine, uscc, today=today, jurisdiction=jurisdiction)
    if out["list"]:
        for g in out["list"]["grounds"]:
            g["rules"] = [
                {k: r.get(k) for k in ("id", "title_zh", "title_en", "legal_basis", "severity")}
                for r in g["rules"]
            ]
    return out
