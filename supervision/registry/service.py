"""Registry changes: create, replace and delete institutions, in bulk or one at a time, with audit rows.

Every write goes through :func:`save_documents`: the API saving one institution and an import of 100k use
the same path, so validation, unchanged-detection and audit are the same everywhere. Rows are written with
PostgreSQL COPY (ids drawn from the sequences first), which is what makes bulk imports fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.core import audit
from supervision.core.audit import request_id_var
from supervision.core.errors import Conflict, Invalid, NotFound, Problem, problems_from_pydantic
from supervision.registry import queries
from supervision.registry.schemas import PATTERN_HINTS, InstitutionDoc

KEPT_HISTORY_SQLSTATES = {"23503", "42501"}
"""Foreign-key violation, or an append-only table refusing the cascade."""


def canonical(doc: dict[str, Any]) -> bytes:
    """The canonical JSON of a document: keys sorted, compact, UTF-8."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class ValidDoc:
    """A document that passed validation: its content, canonical JSON and SHA-256."""

    doc: dict[str, Any]
    canonical: bytes
    sha256: str

    @property
    def uscc(self) -> str:
        return str(self.doc["uscc"])


def validate(raw: Any, loc: str = "") -> ValidDoc:
    """Validate one raw document; raise :class:`Invalid` listing every problem with its field path.

    The schema runs in strict JSON mode over the canonical bytes, so a valid document's content *is* its
    canonical form (every field present, dates as ``YYYY-MM-DD``, no coercion of wrong types).
    """
    if not isinstance(raw, dict):
        raise Invalid("an institution document must be a JSON object", [Problem(loc or "$", "not an object")])
    data = canonical(raw)
    try:
        InstitutionDoc.__pydantic_validator__.validate_json(data)
    except ValidationError as exc:
        where = f"institution {raw.get('uscc')!r}" if isinstance(raw.get("uscc"), str) else "institution"
        problems = problems_from_pydantic(exc.errors(), loc, PATTERN_HINTS)
        raise Invalid(f"{where} is not valid", problems) from None
    return ValidDoc(raw, data, hashlib.sha256(data).hexdigest())


@dataclass
class SaveResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def changed_ids(self) -> list[int]:
        return [self.ids[u] for u in (*self.created, *self.updated)]


def _categories(doc: dict[str, Any]) -> list[str]:
    cats = set(doc["licence"]["scope"]["categories"]) if doc["licence"] else set()
    cats.update(c["category"] for c in doc["courses"])
    return sorted(cats)


def _next_ids(session: Session, table: str, n: int) -> list[int]:
    if n == 0:
        return []
    rows = session.execute(text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)"), {"n": n})
    return list(rows.scalars())


def pg_array(items: Sequence[str]) -> str:
    """A PostgreSQL array literal (``{"a","b"}``) for COPY."""
    return "{" + ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "}"


# Documents are written in two steps: each is COPYed as one row into a per-connection scratch table (its
# scalar fields as columns, its licence, premises, teachers and courses as JSON), then PostgreSQL spreads the
# rows over the relational tables in set-based INSERT … SELECT statements. The client sends one row per
# institution and the server does the rest on its own core. This mapping is the mirror image of
# ``queries.DOCUMENT_SQL``.
STAGE_COLUMNS = (
    "id, is_new, sha, categories, grams, course_ids, uscc, name, nature, status, district, grid, address,"
    " has_escrow, escrow_mode, escrow_bank, escrow_account_last4, licence, premises, teachers, courses, doc"
)
STAGE_TABLE = """CREATE TEMP TABLE IF NOT EXISTS registry_stage (
  id bigint, is_new boolean, sha text, categories text[], grams text[], course_ids bigint[], uscc text,
  name text, nature text, status text, district text, grid text, address text, has_escrow boolean,
  escrow_mode text, escrow_bank text, escrow_account_last4 text, licence jsonb, premises jsonb,
  teachers jsonb, courses jsonb, doc jsonb) ON COMMIT DELETE ROWS"""
BEFORE_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS registry_before (id bigint, before jsonb) ON COMMIT DELETE ROWS"
)
_T = "to_timestamp(%(now)s)"
_INSTITUTION_COLUMNS = (
    "name, nature, status, district, grid, address, has_escrow, escrow_mode, escrow_bank,"
    " escrow_account_last4, categories"
)
_COURSE_FIELDS = (
    "code text, title text, category text, subject text, stages text[], mode text, class_size_max int,"
    " lesson_minutes int, price_per_lesson_fen bigint, teacher_codes text[], term jsonb, weekly_slots jsonb,"
    " sessions jsonb, prepaid_packages jsonb"
)
_COURSES = (
    f"ROWS FROM (jsonb_to_recordset(s.courses) AS ({_COURSE_FIELDS})) WITH ORDINALITY"
    " AS c(code, title, category, subject, stages, mode, class_size_max, lesson_minutes,"
    " price_per_lesson_fen, teacher_codes, term, weekly_slots, sessions, prepaid_packages, n)"
)
EXPLODE = [
    f"""UPDATE institution i SET ({_INSTITUTION_COLUMNS}, search_grams, doc_sha256, version, updated_at)
      = ({", ".join("s." + c.strip() for c in _INSTITUTION_COLUMNS.split(","))}, s.grams, s.sha,
         i.version + 1, {_T})
    FROM registry_stage s WHERE NOT s.is_new AND i.id = s.id""",
    f"""INSERT INTO institution (id, uscc, {_INSTITUTION_COLUMNS}, search_grams, doc_sha256, version,
      created_at, updated_at)
    SELECT id, uscc, {_INSTITUTION_COLUMNS}, grams, sha, 1, {_T}, {_T}
    FROM registry_stage WHERE is_new ORDER BY id""",
    """INSERT INTO licence (institution_id, number, first_approved_on, issued_on, valid_until, status,
      scope_categories, scope_stages, scope_modes)
    SELECT s.id, l.number, l.first_approved_on, l.issued_on, l.valid_until, l.status,
      ARRAY(SELECT jsonb_array_elements_text(l.scope->'categories')),
      ARRAY(SELECT jsonb_array_elements_text(l.scope->'stages')),
      ARRAY(SELECT jsonb_array_elements_text(l.scope->'modes'))
    FROM registry_stage s, jsonb_to_record(s.licence) AS l(number text, first_approved_on date,
      issued_on date, valid_until date, status text, scope jsonb)
    WHERE jsonb_typeof(s.licence) = 'object' ORDER BY s.id""",
    """INSERT INTO premises (institution_id, code, address, area_m2, max_concurrent_students)
    SELECT s.id, p.code, p.address, p.area_m2, p.max_concurrent_students
    FROM registry_stage s, ROWS FROM (jsonb_to_recordset(s.premises) AS (code text, address text,
      area_m2 numeric, max_concurrent_students int)) WITH ORDINALITY
      AS p(code, address, area_m2, max_concurrent_students, n)
    ORDER BY s.id, p.n""",
    """INSERT INTO teacher (institution_id, code, name, has_teacher_certificate, serving_school_teacher)
    SELECT s.id, t.code, t.name, t.has_teacher_certificate, t.serving_school_teacher
    FROM registry_stage s, ROWS FROM (jsonb_to_recordset(s.teachers) AS (code text, name text,
      has_teacher_certificate boolean, serving_school_teacher boolean)) WITH ORDINALITY
      AS t(code, name, has_teacher_certificate, serving_school_teacher, n)
    ORDER BY s.id, t.n""",
    f"""INSERT INTO course (id, institution_id, code, title, category, subject, stages, mode, class_size_max,
      lesson_minutes, price_per_lesson_fen, teacher_codes, term_start, term_end)
    SELECT s.course_ids[c.n], s.id, c.code, c.title, c.category, c.subject, c.stages, c.mode,
      c.class_size_max, c.lesson_minutes, c.price_per_lesson_fen, c.teacher_codes,
      (c.term->>'start')::date, (c.term->>'end')::date
    FROM registry_stage s, {_COURSES}
    ORDER BY s.id, c.n""",
]
_PER_COURSE = """INSERT INTO {table} ({columns})
    SELECT s.course_ids[c.n], {values}
    FROM registry_stage s, {courses},
      ROWS FROM (jsonb_to_recordset(c.{key}) AS ({fields})) WITH ORDINALITY AS x({names}, n)
    ORDER BY s.id, c.n, x.n"""
EXPLODE += [
    _PER_COURSE.format(
        table="course_slot",
        columns='course_id, weekday, start, "end"',
        courses=_COURSES,
        key="weekly_slots",
        fields='weekday smallint, start time, "end" time',
        names='weekday, start, "end"',
        values='x.weekday, x.start, x."end"',
    ),
    _PER_COURSE.format(
        table="course_session",
        columns='course_id, date, start, "end"',
        courses=_COURSES,
        key="sessions",
        fields='date date, start time, "end" time',
        names='date, start, "end"',
        values='x.date, x.start, x."end"',
    ),
    _PER_COURSE.format(
        table="prepaid_package",
        columns="course_id, code, lessons, months, price_fen",
        courses=_COURSES,
        key="prepaid_packages",
        fields="code text, lessons int, months int, price_fen bigint",
        names="code, lessons, months, price_fen",
        values="x.code, x.lessons, x.months, x.price_fen",
    ),
    f"""INSERT INTO audit_log (at, actor, action, entity, entity_key, before, after, request_id)
    SELECT {_T}, %(actor)s, CASE WHEN is_new THEN 'create' ELSE 'replace' END, 'institution', s.uscc,
      b.before, s.doc, %(rid)s
    FROM registry_stage s LEFT JOIN registry_before b ON b.id = s.id ORDER BY s.id""",
]


def _stage_values(d: dict[str, Any], course_ids: Iterator[int]) -> tuple[Any, ...]:
    esc = d["escrow"]
    dumps = orjson.dumps
    return (
        pg_array(_categories(d)),
        pg_array(queries.name_grams(d["name"])),
        "{" + ",".join(str(next(course_ids)) for _ in d["courses"]) + "}",
        d["uscc"],
        d["name"],
        d["nature"],
        d["status"],
        d["district"],
        d["grid"],
        d["address"],
        esc is not None,
        esc["mode"] if esc else None,
        esc["bank"] if esc else None,
        esc["account_last4"] if esc else None,
        dumps(d["licence"]).decode(),
        dumps(d["premises"]).decode(),
        dumps(d["teachers"]).decode(),
        dumps(d["courses"]).decode(),
    )


def save_documents(
    session: Session,
    docs: Sequence[ValidDoc],
    *,
    actor: str,
    now: dt.datetime,
    mode: str = "upsert",
) -> SaveResult:
    """Store validated documents. ``mode``: ``upsert`` (create or replace), ``create`` (409 if any exists).

    Identical documents are left alone and write no audit rows. Changed ones have their children replaced
    as a whole. Flushes; the caller's transaction commits.
    """
    result = SaveResult()
    seen: set[str] = set()
    for v in docs:
        if v.uscc in seen:
            raise Invalid("the same institution appears twice", [Problem(v.uscc, "duplicate uscc in input")])
        seen.add(v.uscc)
    have = queries.existing(session, [v.uscc for v in docs])
    if mode == "create" and have:
        raise Conflict(f"already registered: {', '.join(sorted(have))}", "already_exists")

    staged: list[tuple[int, bool, ValidDoc]] = []
    new = [v for v in docs if v.uscc not in have]
    for v, iid in zip(new, _next_ids(session, "institution", len(new)), strict=True):
        result.ids[v.uscc] = iid
        result.created.append(v.uscc)
        staged.append((iid, True, v))
    for v in docs:
        if v.uscc in have:
            iid, old_sha, _ = have[v.uscc]
            result.ids[v.uscc] = iid
            if old_sha == v.sha256:
                result.unchanged.append(v.uscc)
            else:
                result.updated.append(v.uscc)
                staged.append((iid, False, v))
    if not staged:
        return result

    session.flush()
    changed = [iid for iid, is_new, _ in staged if not is_new]
    before = queries.documents_by_id(session, changed)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        # The scratch tables have no statistics, so the planner overestimates and would JIT-compile every
        # statement (hundreds of ms each): not worth it for a batch.
        cur.execute("SET LOCAL jit = off")
        cur.execute(STAGE_TABLE)
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS registry_before (id bigint, before jsonb) ON COMMIT DELETE ROWS"
        )
        cur.execute("DELETE FROM registry_stage")
        cur.execute("DELETE FROM registry_before")
        course_ids = iter(_next_ids(session, "course", sum(len(v.doc["courses"]) for _, _, v in staged)))
        with cur.copy(f"COPY registry_stage ({STAGE_COLUMNS}) FROM STDIN") as cp:
            for iid, is_new, v in staged:
                cp.write_row((iid, is_new, v.sha256, *_stage_values(v.doc, course_ids), v.canonical.decode()))
        if changed:
            with cur.copy("COPY registry_before (id, before) FROM STDIN") as cp:
                for iid in changed:
                    cp.write_row((iid, orjson.dumps(before[iid]).decode()))
            for table in ("licence", "premises", "teacher", "course"):
                cur.execute(f"DELETE FROM {table} WHERE institution_id = ANY(%s)", (changed,))
        params = {"now": now.timestamp(), "actor": actor, "rid": request_id_var.get()}
        for stmt in EXPLODE:
            cur.execute(stmt, params)
    return result


def search(session: Session, **filters: Any) -> tuple[int, list[dict[str, Any]]]:
    """Staff search over the registry (see :func:`queries.search` for the filters)."""
    return queries.search(session, **filters)


def count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM institution")).scalar_one())


def history(session: Session, uscc: str, limit: int = 50) -> list[Any]:
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


def get(session: Session, uscc: str) -> dict[str, Any]:
    doc = queries.document(session, uscc)
    if doc is None:
        raise NotFound(f"no institution with credit code {uscc}")
    return doc


def save_one(
    session: Session, raw: Any, *, actor: str, now: dt.datetime, mode: str
) -> tuple[str, dict[str, Any]]:
    """Validate and store one document; returns (``created``|``updated``|``unchanged``, stored document)."""
    doc = validate(raw)
    res = save_documents(session, [doc], actor=actor, now=now, mode=mode)
    outcome = "created" if res.created else "updated" if res.updated else "unchanged"
    return outcome, get(session, doc.uscc)


def delete(session: Session, uscc: str, *, actor: str, now: dt.datetime) -> None:
    """Remove an institution registered by mistake.

    One with history that must be kept (escrow statements, decisions) cannot be deleted: the append-only
    tables refuse, and the answer is a 409 saying to close it instead.
    """
    before = get(session, uscc)
    try:
        with session.begin_nested():
            session.execute(text("DELETE FROM institution WHERE uscc = :u"), {"u": uscc})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in KEPT_HISTORY_SQLSTATES:
            raise
        raise Conflict(
            f"{uscc} has records that are kept for good (statements, ledger, decisions); "
            "set its status to closed instead of deleting it",
            "has_history",
        ) from None
    audit.record(
        session,
        at=now,
        actor=actor,
        action="delete",
        entity="institution",
        key=uscc,
        before=before,
        after=None,
    )
    session.flush()


def check_path_matches(uscc: str, raw: Any) -> None:
    if isinstance(raw, dict) and raw.get("uscc") != uscc:
        raise Invalid(
            "the document's credit code differs from the URL", [Problem("uscc", f"expected {uscc}")]
        )
