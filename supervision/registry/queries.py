"""Registry statements. Documents are assembled by PostgreSQL as JSON in one query, in the document's own
order; batches of documents are written by COPY."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import psycopg
from sqlalchemy import text
from sqlmodel import Session

from supervision.db import raw_connection

_SLOTS = """coalesce((SELECT json_agg(json_build_object('weekday', s.weekday,
    'start', to_char(s.start, 'HH24:MI'), 'end', to_char(s."end", 'HH24:MI')) ORDER BY s.id)
    FROM course_slot s WHERE s.course_id = c.id), '[]')"""
_SESSIONS = """coalesce((SELECT json_agg(json_build_object('date', s.date,
    'start', to_char(s.start, 'HH24:MI'), 'end', to_char(s."end", 'HH24:MI')) ORDER BY s.id)
    FROM course_session s WHERE s.course_id = c.id), '[]')"""
_PACKAGES = """coalesce((SELECT json_agg(json_build_object('code', k.code, 'lessons', k.lessons,
    'months', k.months, 'price_fen', k.price_fen) ORDER BY k.id)
    FROM prepaid_package k WHERE k.course_id = c.id), '[]')"""

# The licence and the escrow objects of a document (``l`` a licence row, ``i`` an institution row); the rules'
# facts (``compliance.facts``) build the same. The optional fields (``scope_history``, ``since``) are written
# only when stored, so that a document without them reads back as it was given.
_LICENCE_FIELDS = """'number', l.number, 'first_approved_on', l.first_approved_on,
        'issued_on', l.issued_on, 'valid_until', l.valid_until, 'status', l.status,
        'scope', json_build_object('categories', l.scope_categories, 'stages', l.scope_stages,
                                   'modes', l.scope_modes)"""
LICENCE_JSON = f"""CASE WHEN l.scope_history IS NULL THEN json_build_object({_LICENCE_FIELDS})
        ELSE json_build_object({_LICENCE_FIELDS}, 'scope_history', l.scope_history) END"""
_ESCROW_FIELDS = "'mode', i.escrow_mode, 'bank', i.escrow_bank, 'account_last4', i.escrow_account_last4"
ESCROW_JSON = f"""CASE WHEN NOT i.has_escrow THEN NULL
        WHEN i.escrow_since IS NULL THEN json_build_object({_ESCROW_FIELDS})
        ELSE json_build_object({_ESCROW_FIELDS}, 'since', i.escrow_since) END"""

DOCUMENT_SQL = f"""
SELECT i.id, json_build_object(
  'uscc', i.uscc, 'name', i.name, 'nature', i.nature, 'status', i.status,
  'district', i.district, 'grid', i.grid, 'address', i.address,
  'licence', (SELECT {LICENCE_JSON} FROM licence l WHERE l.institution_id = i.id),
  'escrow', {ESCROW_JSON},
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
    risk_tier: str | None = None,
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
    if risk_tier:
        where.append(
            "coalesce((SELECT r.tier FROM institution_risk r WHERE r.institution_id = i.id), 'green')"
            " = :risk_tier"
        )
        params["risk_tier"] = risk_tier
    if extra_where:
        where.append(extra_where)
    cond = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM institution i WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            "SELECT i.id, i.uscc, i.name, i.nature, i.status, i.district, i.grid, i.address, i.categories,"
            " l.number AS licence_number, l.status AS licence_status, l.valid_until AS licence_valid_until,"
            " coalesce(r.tier, 'green') AS risk_tier, coalesce(r.because, '{}') AS risk_because"
            " FROM institution i LEFT JOIN licence l ON l.institution_id = i.id"
            f" LEFT JOIN institution_risk r ON r.institution_id = i.id WHERE {cond}"
            " ORDER BY i.name, i.uscc LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return total, [dict(r._mapping) for r in rows]


def risk(session: Session, uscc: str) -> dict[str, Any] | None:
    """The stored risk tier of an institution: ``tier``, ``because`` and ``changed_at``."""
    row = session.execute(
        text(
            "SELECT coalesce(r.tier, 'green') AS tier, coalesce(r.because, '{}') AS because,"
            " r.changed_at FROM institution i LEFT JOIN institution_risk r ON r.institution_id = i.id"
            " WHERE i.uscc = :u"
        ),
        {"u": uscc},
    ).first()
    return dict(row._mapping) if row else None


def count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM institution")).scalar_one())


def history(session: Session, uscc: str, limit: int) -> list[Any]:
    """The institution's audit trail, newest first."""
    return list(
        session.execute(
            text(
                "SELECT at, actor, action FROM audit_log WHERE entity = 'institution' AND entity_key = :u"
                " ORDER BY id DESC LIMIT :n"
            ),
            {"u": uscc, "n": limit},
        )
    )


def delete(session: Session, uscc: str) -> None:
    session.execute(text("DELETE FROM institution WHERE uscc = :u"), {"u": uscc})


def next_ids(session: Session, table: str, n: int) -> list[int]:
    """``n`` ids drawn from the table's sequence."""
    if n == 0:
        return []
    rows = session.execute(text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)"), {"n": n})
    return list(rows.scalars())


# Documents are written with one COPY per table and batch: every line was prepared at validation, so storing
# a batch only prefixes the ids drawn from the sequences and streams the text. New institutions are COPYed
# in place; changed ones through a scratch table and one UPDATE, after their children are deleted (they are
# replaced as a whole).
INSTITUTION_COLUMNS = (
    "uscc, name, nature, status, district, grid, address, has_escrow, escrow_mode, escrow_bank,"
    " escrow_account_last4, escrow_since, categories, search_grams"
)
COPY_SQL = {
    "institution": f"COPY institution (id, {INSTITUTION_COLUMNS}, doc_sha256, version, created_at,"
    " updated_at) FROM STDIN",
    "registry_changed": f"COPY registry_changed (id, {INSTITUTION_COLUMNS}, doc_sha256) FROM STDIN",
    "licence": "COPY licence (institution_id, number, first_approved_on, issued_on, valid_until, status,"
    " scope_categories, scope_stages, scope_modes, scope_history) FROM STDIN",
    "premises": "COPY premises (institution_id, code, address, area_m2, max_concurrent_students) FROM STDIN",
    "teacher": "COPY teacher (institution_id, code, name, has_teacher_certificate, serving_school_teacher)"
    " FROM STDIN",
    "course": "COPY course (id, institution_id, code, title, category, subject, stages, mode, class_size_max,"
    " lesson_minutes, price_per_lesson_fen, teacher_codes, term_start, term_end) FROM STDIN",
    "course_slot": 'COPY course_slot (course_id, weekday, start, "end") FROM STDIN',
    "course_session": 'COPY course_session (course_id, date, start, "end") FROM STDIN',
    "prepaid_package": "COPY prepaid_package (course_id, code, lessons, months, price_fen) FROM STDIN",
    "audit_log": "COPY audit_log (at, actor, action, entity, entity_key, before, after, request_id)"
    " FROM STDIN",
}
CHANGED_TABLE = """CREATE TEMP TABLE IF NOT EXISTS registry_changed (
  id bigint, uscc text, name text, nature text, status text, district text, grid text, address text,
  has_escrow boolean, escrow_mode text, escrow_bank text, escrow_account_last4 text, escrow_since text,
  categories text[],
  search_grams text[], doc_sha256 text) ON COMMIT DELETE ROWS"""
UPDATE_CHANGED = f"""UPDATE institution i SET ({INSTITUTION_COLUMNS}, doc_sha256, version, updated_at)
  = ({", ".join("s." + c.strip() for c in INSTITUTION_COLUMNS.split(","))}, s.doc_sha256, i.version + 1,
     %(now)s)
  FROM registry_changed s WHERE i.id = s.id"""


def store_batch(session: Session, lines: dict[str, list[str]], changed: list[int], now: dt.datetime) -> bool:
    """Write a batch's COPY text (:data:`COPY_SQL`): the children of the ``changed`` institutions are deleted
    first (they are replaced as a whole), new institutions are COPYed in place, changed ones through the
    scratch table and one UPDATE. False when a credit code was registered by another transaction meanwhile
    (the transaction is then aborted, nothing of the batch is kept)."""
    raw = raw_connection(session)
    with raw.cursor() as cur:
        if changed:
            cur.execute(CHANGED_TABLE)
            for table in ("licence", "premises", "teacher", "course"):
                cur.execute(f"DELETE FROM {table} WHERE institution_id = ANY(%s)", (changed,))
        try:
            for table, sql in COPY_SQL.items():
                if lines[table]:
                    with cur.copy(sql) as cp:
                        cp.write("".join(lines[table]).encode())
        except psycopg.errors.UniqueViolation:
            return False
        if changed:
            cur.execute(UPDATE_CHANGED, {"now": now})
            # Emptied now, not only at commit: a second save in the same transaction must not see these.
            cur.execute("DELETE FROM registry_changed")
    return True


def licence_locks(session: Session, usccs: Sequence[str]) -> dict[str, tuple[str, str, dt.date]]:
    """For each credit code whose licence a decision in force has revoked or suspended (not lifted): the
    decision's reference, kind and date; a revocation wins over a suspension."""
    if not usccs:
        return {}
    rows = session.execute(
        text(
            "SELECT DISTINCT ON (d.uscc) d.uscc, d.reference, d.kind, d.decided_on FROM decision d"
            " WHERE d.uscc = ANY(:u) AND d.kind IN ('revoke_licence', 'suspend_licence')"
            " AND NOT EXISTS (SELECT 1 FROM decision l WHERE l.lifts_id = d.id)"
            " ORDER BY d.uscc, d.kind = 'revoke_licence' DESC, d.decided_on DESC"
        ),
        {"u": list(usccs)},
    )
    return {r.uscc: (r.reference, r.kind, r.decided_on) for r in rows}
