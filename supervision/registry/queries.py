"""Registry reads. Documents are assembled by PostgreSQL as JSON in one query, in the document's own order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import text
from sqlmodel import Session

_SLOTS = """coalesce((SELECT json_agg(json_build_object('weekday', s.weekday,
    'start', to_char(s.start, 'HH24:MI'), 'end', to_char(s."end", 'HH24:MI')) ORDER BY s.id)
    FROM course_slot s WHERE s.course_id = c.id), '[]')"""
_SESSIONS = """coalesce((SELECT json_agg(json_build_object('date', s.date,
    'start', to_char(s.start, 'HH24:MI'), 'end', to_char(s."end", 'HH24:MI')) ORDER BY s.id)
    FROM course_session s WHERE s.course_id = c.id), '[]')"""
_PACKAGES = """coalesce((SELECT json_agg(json_build_object('code', k.code, 'lessons', k.lessons,
    'months', k.months, 'price_fen', k.price_fen) ORDER BY k.id)
    FROM prepaid_package k WHERE k.course_id = c.id), '[]')"""

DOCUMENT_SQL = f"""
SELECT i.id, json_build_object(
  'uscc', i.uscc, 'name', i.name, 'nature', i.nature, 'status', i.status,
  'district', i.district, 'grid', i.grid, 'address', i.address,
  'licence', (SELECT json_build_object('number', l.number, 'first_approved_on', l.first_approved_on,
        'issued_on', l.issued_on, 'valid_until', l.valid_until, 'status', l.status,
        'scope', json_build_object('categories', l.scope_categories, 'stages', l.scope_stages,
                                   'modes', l.scope_modes))
      FROM licence l WHERE l.institution_id = i.id),
  'escrow', CASE WHEN i.has_escrow THEN json_build_object('mode', i.escrow_mode, 'bank', i.escrow_bank,
        'account_last4', i.escrow_account_last4) END,
  'premises', coalesce((SELECT json_agg(json_build_object('code', p.code, 'address', p.address,
        'area_m2', p.area_m2::text, 'max_concurrent_students', p.max_concurrent_students) ORDER BY p.id)
      FROM premises p WHERE p.institution_id = i.id), '[]'),
  'teachers', coalesce((SELECT json_agg(json_build_object('code', t.code, 'name', t.name,
        'has_teacher_certificate', t.has_teacher_certificate,
        'serving_school_teacher', t.serving_school_teacher) ORDER BY t.id)
      FROM teacher t WHERE t.institution_id = i.id), '[]'),
  'courses', coalesce((SELECT json_agg(json_build_object('code', c.code, 'title', c.title,
        'category', c.category, 'subject', c.subject, 'stages', c.stages, 'mode', c.mode,
        'class_size_max', c.class_size_max, 'lesson_minutes', c.lesson_minutes,
        'price_per_lesson_fen', c.price_per_lesson_fen, 'teacher_codes', c.teacher_codes,
        'term', json_build_object('start', c.term_start, 'end', c.term_end),
        'weekly_slots', {_SLOTS}, 'sessions', {_SESSIONS}, 'prepaid_packages', {_PACKAGES}) ORDER BY c.id)
      FROM course c WHERE c.institution_id = i.id), '[]')
)::text AS doc
FROM institution i
"""


def documents_by_id(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Institution documents (``formats.md``) for the given ids."""
    if not ids:
        return {}
    rows = session.execute(text(DOCUMENT_SQL + " WHERE i.id = ANY(:ids)"), {"ids": list(ids)})
    return {row.id: orjson.loads(row.doc) for row in rows}


def document(session: Session, uscc: str) -> dict[str, Any] | None:
    row = session.execute(text(DOCUMENT_SQL + " WHERE i.uscc = :uscc"), {"uscc": uscc}).first()
    return orjson.loads(row.doc) if row else None


def iter_documents(session: Session, batch: int = 2000) -> Iterable[list[tuple[int, dict[str, Any]]]]:
    """Every document in id order, in batches (keyset pagination: constant memory)."""
    last = 0
    while True:
        rows = session.execute(
            text(DOCUMENT_SQL + " WHERE i.id > :last ORDER BY i.id LIMIT :n"), {"last": last, "n": batch}
        ).all()
        if not rows:
            return
        yield [(r.id, orjson.loads(r.doc)) for r in rows]
        last = rows[-1].id


def existing(session: Session, usccs: Sequence[str]) -> dict[str, tuple[int, str, int]]:
    """uscc → (id, doc_sha256, version) for those already registered."""
    rows = session.execute(
        text("SELECT uscc, id, doc_sha256, version FROM institution WHERE uscc = ANY(:u)"), {"u": list(usccs)}
    )
    return {r.uscc: (r.id, r.doc_sha256, r.version) for r in rows}


def name_grams(name: str) -> list[str]:
    """The bigrams of a (lower-cased) name: what the GIN search index holds."""
    s = name.lower()
    return sorted({s[i : i + 2] for i in range(len(s) - 1)})


def query_grams(q: str) -> list[str]:
    """The bigrams a query needs (a superset test on the index); a one-character query needs none."""
    return name_grams(q)


def like_escape(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    session: Session,
    *,
    q: str | None,
    grid: str | None,
    category: str | None,
    status: str | None,
    limit: int,
    offset: int,
    extra_where: str = "",
    extra_params: dict[str, Any] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Search by name substring, credit code or licence number, with filters. Returns (total, rows)."""
    where = ["TRUE"]
    params: dict[str, Any] = dict(extra_params or {})
    if q:
        q = q.strip()
        params.update(q=q, qu=q.upper(), like=f"%{like_escape(q.lower())}%", grams=query_grams(q))
        # Each of the three ways has its own index, and PostgreSQL combines them (a bitmap OR) only when
        # every branch can use one: the licence numbers are looked up first, not as a correlated EXISTS.
        where.append(
            "((i.search_grams @> CAST(:grams AS text[]) AND lower(i.name) LIKE :like) OR i.uscc = :qu"
            " OR i.id = ANY(ARRAY(SELECT institution_id FROM licence WHERE number = :q)))"
        )
    if grid:
        where.append("i.grid = :grid")
        params["grid"] = grid
    if category:
        where.append(":category = ANY(i.categories)")
        params["category"] = category
    if status:
        where.append("i.status = :status")
        params["status"] = status
    if extra_where:
        where.append(extra_where)
    cond = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM institution i WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            "SELECT i.id, i.uscc, i.name, i.nature, i.status, i.district, i.grid, i.address, i.categories,"
            " l.number AS licence_number, l.status AS licence_status, l.valid_until AS licence_valid_until"
            f" FROM institution i LEFT JOIN licence l ON l.institution_id = i.id WHERE {cond}"
            " ORDER BY i.name, i.uscc LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return total, [dict(r._mapping) for r in rows]


_grid_cache: tuple[float, list[str]] = (0.0, [])


def grids(session: Session, ttl: float = 60.0) -> list[str]:
    """The grids (街道) present in the registry, cached for a minute (they change rarely)."""
    global _grid_cache
    import time

    stamp, values = _grid_cache
    if time.monotonic() - stamp > ttl or not values:
        values = list(session.execute(text("SELECT DISTINCT grid FROM institution ORDER BY grid")).scalars())
        _grid_cache = (time.monotonic(), values)
    return values
