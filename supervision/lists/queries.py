"""List reads and the derivation SQL (名单推导).

The derivation classifies every institution as of a date in one statement into a temporary table
``derived_list`` (black, then warning, then white: an institution is on at most one list). Publication
copies a kind's rows from it into ``list_entry`` server-side, so a 500k-entry edition never crosses the
wire twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

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
