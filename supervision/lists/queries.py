"""List statements: reads, the derivation SQL (名单推导), publication, and the parents' search.

The derivation classifies every institution as of a date in one statement into a temporary table
``derived_list`` (black, then warning, then white: an institution is on at most one list). Publication
copies a kind's rows from it into ``list_entry`` server-side, so a 500k-entry edition never crosses the
wire twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.db import raw_connection
from supervision.lists.readpool import pool_for
from supervision.registry.queries import like_escape, query_grams

DERIVE_SQL = """
CREATE TEMP TABLE derived_list ON COMMIT DROP AS
WITH active AS MATERIALIZED (
  SELECT d.id, d.uscc, d.kind, d.reference, d.basis, d.effective_from, d.institution_name
  FROM decision d
  WHERE d.kind IN ('blacklist', 'rectification_order', 'suspend_licence')
    AND d.effective_from <= :as_of AND (d.until IS NULL OR d.until >= :as_of)
    AND d.id NOT IN (SELECT l.lifts_id FROM decision l
                     WHERE l.lifts_id IS NOT NULL AND l.effective_from <= :as_of)
),
grounds AS MATERIALIZED (
  SELECT a.uscc, CASE WHEN a.kind = 'blacklist' THEN 'black' ELSE 'warning' END AS list,
         array_to_string(a.basis, ',') || ' ' || a.reference AS reason, a.effective_from, a.id,
         a.institution_name
  FROM active a
  UNION ALL
  SELECT i.uscc, 'warning', 'LIC-INACTIVE', NULL, NULL, i.name
  FROM institution i JOIN licence l ON l.institution_id = i.id
  WHERE l.status = 'suspended' AND i.uscc NOT IN (SELECT uscc FROM active WHERE kind = 'suspend_licence')
),
listed AS MATERIALIZED (
  SELECT DISTINCT ON (uscc) uscc, list FROM grounds ORDER BY uscc, list
),
reasons AS (
  SELECT g.uscc, g.list,
         string_agg(g.reason, '; ' ORDER BY g.effective_from NULLS LAST, g.id NULLS LAST) AS reason,
         min(g.effective_from) AS since, min(g.institution_name) AS dname
  FROM grounds g JOIN listed x ON x.uscc = g.uscc AND x.list = g.list
  GROUP BY g.uscc, g.list
)
SELECT r.uscc, r.list AS kind, coalesce(i.name, r.dname) AS name, l.number AS licence_number,
       coalesce(i.address, '') AS address, coalesce(i.grid, '') AS grid,
       coalesce(i.categories, '{}'::text[]) AS categories, r.reason, r.since
FROM reasons r
LEFT JOIN institution i ON i.uscc = r.uscc
LEFT JOIN licence l ON l.institution_id = i.id
UNION ALL
SELECT i.uscc, 'white', i.name, l.number, i.address, i.grid, i.categories, NULL, NULL
FROM institution i JOIN licence l ON l.institution_id = i.id
WHERE i.status = 'operating' AND l.status = 'valid' AND l.issued_on <= :as_of AND l.valid_until >= :as_of
  AND i.escrow_mode IS NOT NULL
  AND i.id NOT IN (
    SELECT c.institution_id FROM course c JOIN licence cl ON cl.institution_id = c.institution_id
    WHERE NOT (c.category = ANY(cl.scope_categories) AND c.stages <@ cl.scope_stages
               AND c.mode = ANY(cl.scope_modes)))
  AND i.id NOT IN (SELECT f.institution_id FROM finding f WHERE f.status = 'open' AND f.severity = 'critical')
  AND i.uscc NOT IN (SELECT uscc FROM listed)
"""


def derive(session: Session, as_of: dt.date) -> dict[str, int]:
    """Fill ``derived_list`` for ``as_of`` (dropped at commit); returns the count per kind."""
    session.execute(text("DROP TABLE IF EXISTS pg_temp.derived_list"))
    # The anti-joins are NOT IN over small sets (listed, out of scope, critical findings): hashed in memory
    # whatever the row estimates, given room.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text(DERIVE_SQL), {"as_of": as_of})
    session.execute(text("ANALYZE derived_list"))
    rows = session.execute(text("SELECT kind, count(*) AS n FROM derived_list GROUP BY kind"))
    counts = {"white": 0, "warning": 0, "black": 0}
    counts.update({r.kind: r.n for r in rows})
    return counts


def derived_kind(session: Session, usccs: list[str]) -> dict[str, str]:
    rows = session.execute(text("SELECT uscc, kind FROM derived_list WHERE uscc = ANY(:u)"), {"u": usccs})
    return {r.uscc: r.kind for r in rows}


def white_checks(session: Session, usccs: list[str], as_of: dt.date) -> dict[str, dict[str, Any]]:
    """The facts the white list looks at, per institution (for explaining why one is not on it)."""
    rows = session.execute(
        text(
            """
            SELECT u.uscc, i.id IS NOT NULL AS registered, i.status, i.escrow_mode,
                   l.status AS licence_status, l.issued_on, l.valid_until, l.number AS licence_number,
                   EXISTS (SELECT 1 FROM course c WHERE c.institution_id = i.id
                           AND NOT (c.category = ANY(l.scope_categories) AND c.stages <@ l.scope_stages
                                    AND c.mode = ANY(l.scope_modes))) AS out_of_scope,
                   ARRAY(SELECT DISTINCT f.rule_id FROM finding f WHERE f.institution_id = i.id
                         AND f.status = 'open' AND f.severity = 'critical' ORDER BY 1) AS critical
            FROM unnest(CAST(:u AS text[])) AS u(uscc)
            LEFT JOIN institution i ON i.uscc = u.uscc
            LEFT JOIN licence l ON l.institution_id = i.id
            """
        ),
        {"u": usccs},
    )
    return {r.uscc: dict(r._mapping) for r in rows}


def decisions_ended(session: Session, references: list[str], as_of: dt.date) -> dict[str, dict[str, Any]]:
    """For decision references: the lift in effect by ``as_of`` (if any) and the end date."""
    rows = session.execute(
        text(
            """
            SELECT d.reference, d.until, l.reference AS lifted_by
            FROM decision d LEFT JOIN decision l ON l.lifts_id = d.id AND l.effective_from <= :as_of
            WHERE d.reference = ANY(:r)
            """
        ),
        {"r": references, "as_of": as_of},
    )
    return {r.reference: dict(r._mapping) for r in rows}


# ------------------------------------------------------------------------------------------ editions

EDITION_FIELDS = (
    "id, kind, seq, as_of, published_at, jurisdiction, prev_sha256, sha256, entry_count, entered_count,"
    " left_count, changed_count"
)


def latest_published(session: Session, kind: str) -> dict[str, Any] | None:
    row = session.execute(
        text(
            f"SELECT {EDITION_FIELDS} FROM list_edition WHERE kind = :k AND status = 'published'"
            " ORDER BY seq DESC LIMIT 1"
        ),
        {"k": kind},
    ).first()
    return dict(row._mapping) if row else None


def latest_all(session: Session) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        text(
            f"SELECT DISTINCT ON (kind) {EDITION_FIELDS} FROM list_edition WHERE status = 'published'"
            " ORDER BY kind, seq DESC"
        )
    )
    return {r.kind: dict(r._mapping) for r in rows}


def edition(session: Session, kind: str, seq: int) -> dict[str, Any] | None:
    row = session.execute(
        text(
            f"SELECT {EDITION_FIELDS} FROM list_edition WHERE kind = :k AND seq = :s AND status = 'published'"
        ),
        {"k": kind, "s": seq},
    ).first()
    return dict(row._mapping) if row else None


def canonical(session: Session, edition_id: int) -> tuple[bytes, str]:
    row = session.execute(
        text("SELECT canonical, sha256 FROM list_edition WHERE id = :i"), {"i": edition_id}
    ).one()
    return bytes(row.canonical), row.sha256


def editions(
    session: Session, kind: str | None, *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where = "status = 'published'" + (" AND kind = :k" if kind else "")
    params: dict[str, Any] = {"k": kind, "n": limit, "o": offset}
    total = session.execute(text(f"SELECT count(*) FROM list_edition WHERE {where}"), params).scalar_one()
    rows = session.execute(
        text(
            f"SELECT {EDITION_FIELDS} FROM list_edition WHERE {where}"
            " ORDER BY published_at DESC, kind, seq DESC LIMIT :n OFFSET :o"
        ),
        params,
    )
    return total, [dict(r._mapping) for r in rows]


def entries(
    session: Session,
    edition_id: int,
    *,
    q: str | None,
    grid: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Entries of an edition, optionally filtered by name substring, credit code, licence number or grid."""
    where = ["e.edition_id = :e"]
    params: dict[str, Any] = {"e": edition_id, "n": limit, "o": offset}
    if q:
        q = q.strip()
        from supervision.registry.queries import like_escape

        params.update(q=q, qu=q.upper(), like=f"%{like_escape(q.lower())}%")
        where.append("(e.uscc = :qu OR e.licence_number = :q OR lower(e.name) LIKE :like)")
    if grid:
        where.append("e.grid = :g")
        params["g"] = grid
    cond = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM list_entry e WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            "SELECT e.uscc, e.name, e.licence_number, e.address, e.grid, e.categories, e.reason, e.since"
            f' FROM list_entry e WHERE {cond} ORDER BY e.uscc COLLATE "C" LIMIT :n OFFSET :o'
        ),
        params,
    )
    return total, [dict(r._mapping) for r in rows]


def iter_entries(session: Session, edition_id: int, batch: int = 5000) -> Any:
    """Every entry of an edition in credit-code order, in batches (keyset pagination)."""
    last = ""
    while True:
        rows = session.execute(
            text(
                "SELECT uscc, name, licence_number, address, grid, categories, reason, since FROM list_entry"
                ' WHERE edition_id = :e AND uscc COLLATE "C" > :last ORDER BY uscc COLLATE "C" LIMIT :n'
            ),
            {"e": edition_id, "last": last, "n": batch},
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].uscc


def changes(
    session: Session, edition_id: int, *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    total = session.execute(
        text("SELECT count(*) FROM list_change WHERE edition_id = :e"), {"e": edition_id}
    ).scalar_one()
    rows = session.execute(
        text(
            "SELECT uscc, change, name, reason, previous_reason, why FROM list_change WHERE edition_id = :e"
            ' ORDER BY change, uscc COLLATE "C" LIMIT :n OFFSET :o'
        ),
        {"e": edition_id, "n": limit, "o": offset},
    )
    return total, [dict(r._mapping) for r in rows]


# ------------------------------------------------------------------------------------------- publication

LOCK_CLASS = 72_406
"""Advisory lock class of list publication (with the kind hashed as the key)."""


def lock_kind(session: Session, kind: str) -> None:
    """Publishers of one kind queue up (a transaction-scoped advisory lock)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:c, hashtext(:k))"), {"c": LOCK_CLASS, "k": kind})


def claim_edition(
    session: Session, kind: str, as_of: dt.date, *, jurisdiction: str, now: dt.datetime, actor: str
) -> int | None:
    """Claim the ``(kind, as_of)`` edition; None when another publisher has it."""
    new_id = session.execute(
        text(
            "INSERT INTO list_edition (kind, as_of, status, jurisdiction, claimed_at, actor, entry_count,"
            " entered_count, left_count, changed_count)"
            " VALUES (:k, :a, 'claimed', :j, :now, :actor, 0, 0, 0, 0)"
            " ON CONFLICT (kind, as_of) DO NOTHING RETURNING id"
        ),
        {"k": kind, "a": as_of, "j": jurisdiction, "now": now, "actor": actor},
    ).scalar()
    return None if new_id is None else int(new_id)


def store_entries(session: Session, edition_id: int, kind: str, as_of: dt.date, prev_id: int | None) -> None:
    """Copy a kind's rows from ``derived_list`` into the edition, server-side, ``since`` carried over from
    the previous edition."""
    session.execute(
        text(
            "INSERT INTO list_entry (edition_id, uscc, name, licence_number, address, grid, categories,"
            " reason, since) SELECT :e, d.uscc, d.name, d.licence_number, d.address, d.grid,"
            " d.categories, d.reason, coalesce(p.since, d.since, :as_of) FROM derived_list d"
            " LEFT JOIN list_entry p ON p.edition_id = :prev AND p.uscc = d.uscc WHERE d.kind = :k"
        ),
        {"e": edition_id, "as_of": as_of, "prev": prev_id, "k": kind},
    )


@contextmanager
def entries_in_order(session: Session, edition_id: int) -> Iterator[psycopg.Cursor[Any]]:
    """A server-side cursor over the edition's entries in credit-code order (byte order), binary."""
    raw = raw_connection(session)
    with raw.cursor(name=f"edition_{edition_id}", binary=True) as cur:
        cur.execute(
            "SELECT uscc, name, licence_number, address, grid, categories, reason,"
            " to_char(since, 'YYYY-MM-DD') FROM list_entry WHERE edition_id = %s"
            ' ORDER BY uscc COLLATE "C"',
            (edition_id,),
        )
        yield cur


def seal_edition(
    session: Session,
    edition_id: int,
    *,
    seq: int,
    published_at: dt.datetime,
    prev_sha256: str | None,
    sha256: str,
    canonical: bytes,
    counts: tuple[int, int, int, int],
) -> None:
    """Mark an edition published with its bytes, hash and counts (entries, entered, left, changed)."""
    raw = raw_connection(session)
    with raw.cursor() as cur:  # the canonical bytes go as a binary parameter (not hex text, twice the size)
        cur.execute(
            "UPDATE list_edition SET status = 'published', seq = %s, published_at = %s, prev_sha256 = %s,"
            " sha256 = %s, canonical = %b, entry_count = %s, entered_count = %s, left_count = %s,"
            " changed_count = %s WHERE id = %s",
            (seq, published_at, prev_sha256, sha256, canonical, *counts, edition_id),
        )


def differences(session: Session, edition_id: int, prev_id: int) -> list[Any]:
    """Who entered, left or changed reason between two editions (one merge of their entries)."""
    return list(
        session.execute(
            text(
                """
                SELECT coalesce(n.uscc, p.uscc) AS uscc,
                       CASE WHEN p.uscc IS NULL THEN 'entered' WHEN n.uscc IS NULL THEN 'left' ELSE 'changed'
                         END AS change,
                       coalesce(n.name, p.name) AS name, n.reason, p.reason AS previous_reason
                FROM (SELECT uscc, name, reason FROM list_entry WHERE edition_id = :e) n
                FULL JOIN (SELECT uscc, name, reason FROM list_entry WHERE edition_id = :p) p
                  ON p.uscc = n.uscc
                WHERE n.uscc IS NULL OR p.uscc IS NULL OR n.reason IS DISTINCT FROM p.reason
                """
            ),
            {"e": edition_id, "p": prev_id},
        ).all()
    )


def listed_in(session: Session, edition_ids: list[int], usccs: list[str]) -> list[Any]:
    """Which of ``usccs`` are in the editions ``edition_ids``, with the editions' kind."""
    return list(
        session.execute(
            text(
                "SELECT e.uscc, ed.kind FROM list_entry e JOIN list_edition ed ON ed.id = e.edition_id"
                " WHERE e.edition_id = ANY(:o) AND e.uscc = ANY(:u) ORDER BY ed.kind"
            ),
            {"o": edition_ids, "u": usccs},
        )
    )


def store_changes(session: Session, rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows of ``list_change`` (edition, uscc, change, name, reason, previous reason, why) by COPY."""
    raw = raw_connection(session)
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY list_change (edition_id, uscc, change, name, reason, previous_reason, why) FROM STDIN"
        ) as cp,
    ):
        for row in rows:
            cp.write_row(row)


# ----------------------------------------------------------------------- the parents' search (async pool)

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


NAME_ORDER_PLAN = (
    "enable_bitmapscan = off",
    "enable_seqscan = off",
    "enable_sort = off",
    "max_parallel_workers_per_gather = 0",
)
"""For a search matching more than the count cap (``search.COUNT_CAP``): walk the names in order
(``ix_institution_name_uscc``) and keep the matches, which stops after a page, instead of fetching every
match to sort it. A fragment as broad as 广州 matches most rows, and the planner, which cannot know how many
names contain a fragment, would otherwise fetch and sort them all."""


def search_condition(
    *, q: str | None, grid: str | None, category: str | None, list_kind: str | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE condition of a public search and its parameters."""
    where = ["TRUE"]
    params: dict[str, Any] = {}
    if q and q.strip():
        q = q.strip()
        params.update(q=q, qu=q.upper(), like=f"%{like_escape(q.lower())}%")
        params["grams"] = query_grams(q)
        where.append(MATCH_SQL)
    if grid:
        where.append("i.grid = %(grid)s")
        params["grid"] = grid
    if category:
        where.append("%(category)s = ANY(i.categories)")
        params["category"] = category
    if list_kind:
        where.append(LIST_SQL)
        params["list"] = list_kind
    return " AND ".join(where), params


async def count_matches(engine: Engine, condition: str, params: dict[str, Any], *, cap: int) -> int:
    """Institutions matching, counted up to ``cap``; planned for its values (never prepared)."""
    return int(
        await pool_for(engine).value(COUNT_SQL.format(where=condition), {**params, "cap": cap}, prepare=False)
    )


async def page_ids(
    engine: Engine, condition: str, params: dict[str, Any], *, in_name_order: bool
) -> list[int]:
    """The ids of a page of matches in name order (``in_name_order``: walking the name index, see
    :data:`NAME_ORDER_PLAN`); planned for its values (never prepared)."""
    plan = NAME_ORDER_PLAN if in_name_order else ()
    hits = await pool_for(engine).rows(IDS_SQL.format(where=condition), params, plan, prepare=False)
    return [h["id"] for h in hits]


async def search_page(engine: Engine, ids: list[int]) -> list[dict[str, Any]]:
    """The public fields and current list status of the institutions of a page, in its order."""
    return await pool_for(engine).rows(PAGE_SQL, {"ids": ids})


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


async def public_record(engine: Engine, uscc: str) -> Any:
    """An institution's public record as JSON text (:data:`RECORD_SQL`)."""
    return await pool_for(engine).value(RECORD_SQL, {"u": uscc})


def list_history(session: Session, uscc: str, limit: int = 60) -> list[dict[str, Any]]:
    """The published editions an institution appears in, newest first: list, date, number, reason."""
    rows = session.execute(
        text(
            "SELECT ed.kind, ed.as_of, ed.seq, e.reason, e.since FROM list_entry e"
            " JOIN list_edition ed ON ed.id = e.edition_id"
            " WHERE e.uscc = :u AND ed.status = 'published' ORDER BY ed.as_of DESC, ed.kind LIMIT :n"
        ),
        {"u": uscc, "n": limit},
    )
    return [dict(r._mapping) for r in rows]
