"""What parents see about lists (公开查询): search with list status, and an institution's status explained.

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
from supervision.lists import catalogue
from supervision.lists import service as lists
from supervision.lists.readpool import pool_for
from supervision.registry import public as public_registry
from supervision.registry import queries as registry_queries

LATEST_SQL = """latest AS (
  SELECT DISTINCT ON (kind) id, kind FROM list_edition WHERE status = 'published' ORDER BY kind, seq DESC
)"""
COUNT_SQL = (
    f"WITH {LATEST_SQL} SELECT count(*) FROM (SELECT FROM institution i WHERE {{where}} LIMIT %(cap)s) c"
)
IDS_SQL = f"""WITH {LATEST_SQL}
SELECT i.id FROM institution i WHERE {{where}} ORDER BY i.name, i.uscc LIMIT %(limit)s OFFSET %(offset)s"""
PAGE_SQL = f"""WITH {LATEST_SQL}
SELECT i.uscc, i.name, i.status, i.district, i.grid, i.address, i.categories,
       l.number AS licence_number, l.status AS licence_status, l.valid_until AS licence_valid_until,
       st.kind AS list_kind, st.reason AS list_reason, st.since AS list_since
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS h(id, n)
JOIN institution i ON i.id = h.id
LEFT JOIN licence l ON l.institution_id = i.id
LEFT JOIN LATERAL (
  SELECT x.kind, e.reason, e.since FROM list_entry e JOIN latest x ON x.id = e.edition_id
  WHERE e.uscc = i.uscc LIMIT 1
) st ON true
ORDER BY h.n
"""

# Three ways to find an institution, each with its own index (name grams, credit code, licence number),
# combined by PostgreSQL as a bitmap OR; licences and list status are joined for the one page shown.
MATCH_SQL = (
    "((i.search_grams @> %(grams)s::text[] AND lower(i.name) LIKE %(like)s) OR i.uscc = %(qu)s"
    " OR i.id = ANY(ARRAY(SELECT institution_id FROM licence WHERE number = %(q)s)))"
)
LIST_SQL = (
    "i.uscc IN (SELECT e.uscc FROM list_entry e JOIN latest x ON x.id = e.edition_id AND x.kind = %(list)s)"
)
COUNT_CAP = 1000
"""Matches are counted up to this many; past it the page says "more than 1,000" and offers the first 1,000."""
NAME_ORDER_PLAN = (
    "enable_bitmapscan = off",
    "enable_seqscan = off",
    "enable_sort = off",
    "max_parallel_workers_per_gather = 0",
)
"""For a search matching more than :data:`COUNT_CAP`: walk the names in order (``ix_institution_name_uscc``)
and keep the matches, which stops after a page, instead of fetching every match to sort it. A fragment as
broad as 广州 matches most rows, and the planner, which cannot know how many names contain a fragment, would
otherwise fetch and sort them all (0.2–0.4 s on the 100k registry)."""


class BroadPages:
    """Which institutions a broad search shows on a page, remembered for :data:`BROAD_TTL` seconds.

    A search matching more than :data:`COUNT_CAP` institutions (广州, 培训中心: half of the name fragments
    in the benchmark's sample) is the costly kind: counting its matches and walking the names in order took
    up to 50 ms of PostgreSQL per page on the 100k registry, and the same few fragments come back again and
    again. Only the page's ids are remembered, per process: the fields and list status shown are read
    fresh for every request, so what is stale for at most a minute is which institutions a broad fragment
    lists on that page (a new or renamed institution joins them by then). Narrow searches, a credit code or
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
    where = ["TRUE"]
    params: dict[str, Any] = {"offset": paging.offset, "cap": COUNT_CAP + 1}
    if q and q.strip():
        q = q.strip()
        params.update(q=q, qu=q.upper(), like=f"%{registry_queries.like_escape(q.lower())}%")
        params["grams"] = registry_queries.query_grams(q)
        where.append(MATCH_SQL)
    if grid:
        where.append("i.grid = %(grid)s")
        params["grid"] = grid
    if category:
        where.append("%(category)s = ANY(i.categories)")
        params["category"] = category
    if list_kind:
        lists.check_kinds([list_kind])
        where.append(LIST_SQL)
        params["list"] = list_kind
    condition = " AND ".join(where)
    pool = pool_for(engine)
    key = (q, grid, category, list_kind, paging.offset, paging.page_size, COUNT_CAP)
    ids = _broad_pages.get(key)
    if ids is not None:
        total, more = COUNT_CAP, True
    else:
        counted = int(await pool.value(COUNT_SQL.format(where=condition), params, prepare=False))
        total, more = min(counted, COUNT_CAP), counted > COUNT_CAP
        if paging.offset >= total:
            return SearchResult(total, more, [])
        params["limit"] = min(paging.page_size, total - paging.offset)
        plan = NAME_ORDER_PLAN if more else ()
        hits = await pool.rows(IDS_SQL.format(where=condition), params, plan, prepare=False)
        ids = [h["id"] for h in hits]
        if more:
            _broad_pages.put(key, ids)
    rows = await pool.rows(PAGE_SQL, {"ids": ids})
    items = []
    for r in rows:
        item = {k: r[k] for k in public_registry.PUBLIC_SEARCH_FIELDS}
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


_grids: tuple[float, list[str]] = (0.0, [])


async def grids(engine: Engine) -> list[str]:
    """The grids (街道) present in the registry, for the filters; cached for a minute."""
    global _grids
    stamp, values = _grids
    if not values or time.monotonic() - stamp > 60:
        rows = await pool_for(engine).rows("SELECT DISTINCT grid FROM institution ORDER BY grid", {})
        values = [r["grid"] for r in rows]
        _grids = (time.monotonic(), values)
    return values


def parse_reason(reason: str | None) -> list[dict[str, Any]]:
    """``"LIC-NONE,CONDUCT-DISGUISED 穗天教监〔2026〕8号; LIC-INACTIVE"`` → grounds with IDs and reference."""
    return [{"rule_ids": ids, "reference": ref} for ids, ref in lists.parse_reason(reason)]


def rule_ids(reason: str | None) -> list[str]:
    return [i for g in parse_reason(reason) for i in g["rule_ids"]]


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
    for g in parse_reason(reason):
        grounds.append(
            {
                "reference": g["reference"],
                "decision": by_ref.get(g["reference"]) if g["reference"] else None,
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
                    for i in g["rule_ids"]
                ],
            }
        )
    return grounds


# ------------------------------------------------------------------------------------------ one-query lookup

RECORD_SQL = """
WITH i AS (SELECT * FROM institution WHERE uscc = %(u)s),
latest AS (
  SELECT DISTINCT ON (kind) id FROM list_edition WHERE status = 'published' ORDER BY kind, seq DESC
)
SELECT json_build_object(
  'doc', (SELECT json_build_object(
      'uscc', i.uscc, 'name', i.name, 'nature', i.nature, 'status', i.status, 'district', i.district,
      'grid', i.grid, 'address', i.address,
      'licence', (SELECT json_build_object('number', l.number, 'first_approved_on', l.first_approved_on,
            'issued_on', l.issued_on, 'valid_until', l.valid_until, 'status', l.status,
            'scope', json_build_object('categories', l.scope_categories, 'stages', l.scope_stages,
                                       'modes', l.scope_modes))
          FROM licence l WHERE l.institution_id = i.id),
      'escrow', json_build_object('supervised', i.has_escrow AND i.escrow_mode IS NOT NULL,
                                  'mode', CASE WHEN i.has_escrow THEN i.escrow_mode END,
                                  'bank', CASE WHEN i.has_escrow THEN i.escrow_bank END),
      'premises', coalesce((SELECT json_agg(json_build_object('address', p.address) ORDER BY p.id)
          FROM premises p WHERE p.institution_id = i.id), '[]'),
      'courses', coalesce((SELECT json_agg(json_build_object('title', c.title, 'category', c.category,
            'subject', c.subject, 'stages', c.stages, 'mode', c.mode, 'class_size_max', c.class_size_max,
            'lesson_minutes', c.lesson_minutes, 'price_per_lesson_fen', c.price_per_lesson_fen) ORDER BY c.id)
          FROM course c WHERE c.institution_id = i.id), '[]')) FROM i),
  'history', coalesce((SELECT json_agg(json_build_object('kind', ed.kind, 'seq', ed.seq, 'as_of', ed.as_of,
        'reason', e.reason, 'since', e.since, 'current', ed.id IN (SELECT id FROM latest)))
      FROM list_entry e JOIN list_edition ed ON ed.id = e.edition_id
      WHERE e.uscc = %(u)s AND ed.status = 'published'), '[]'),
  'decisions', coalesce((SELECT json_agg(json_build_object('reference', d.reference, 'kind', d.kind,
        'basis', d.basis, 'summary', d.summary, 'decided_on', d.decided_on,
        'effective_from', d.effective_from, 'deadline', d.deadline, 'until', d.until,
        'lifts', p.reference, 'lifted_by', l.reference, 'lifted_on', l.effective_from)
        ORDER BY d.effective_from DESC, d.id DESC)
      FROM decision d LEFT JOIN decision p ON p.id = d.lifts_id LEFT JOIN decision l ON l.lifts_id = d.id
      WHERE d.uscc = %(u)s), '[]'),
  'white', (SELECT json_build_object('registered', true, 'status', i.status, 'escrow_mode', i.escrow_mode,
        'licence_status', l.status, 'issued_on', l.issued_on, 'valid_until', l.valid_until,
        'out_of_scope', EXISTS (SELECT 1 FROM course c WHERE c.institution_id = i.id
            AND NOT (c.category = ANY(l.scope_categories) AND c.stages <@ l.scope_stages
                     AND c.mode = ANY(l.scope_modes))),
        'critical', ARRAY(SELECT DISTINCT f.rule_id FROM finding f WHERE f.institution_id = i.id
            AND f.status = 'open' AND f.severity = 'critical' ORDER BY 1))
      FROM i LEFT JOIN licence l ON l.institution_id = i.id)
)::text
"""

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
    raw = await pool_for(engine).value(RECORD_SQL, {"u": uscc})
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
