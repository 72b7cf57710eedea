"""Registry changes: create, replace and delete institutions, in bulk or one at a time, with audit rows.

Every write goes through :func:`save_documents`: the API saving one institution and an import of 100k use
the same path, so validation, unchanged-detection and audit are the same everywhere. Validation prepares
each document's rows as COPY text; storing draws the ids from the sequences and streams the text with one
COPY per table, which is what makes bulk imports fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
import psycopg
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.core import audit
from supervision.core.audit import request_id_var
from supervision.core.errors import Conflict, Invalid, NotFound, Problem, problems_from_pydantic
from supervision.db import raw_connection
from supervision.registry import fastcheck, queries
from supervision.registry.schemas import PATTERN_HINTS, InstitutionDoc, cross_field_errors

KEPT_HISTORY_SQLSTATES = {"23503", "42501"}
"""Foreign-key violation, or an append-only table refusing the cascade."""


def canonical(doc: dict[str, Any]) -> bytes:
    """The canonical JSON of a document: keys sorted, compact, UTF-8."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class Rows:
    """A valid document as the lines PostgreSQL COPY reads (text format), without the ids, which are only
    known when it is stored: each line is prefixed with its institution id (and a course with its own id)."""

    institution: str
    licence: str | None
    premises: tuple[str, ...]
    teachers: tuple[str, ...]
    courses: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
    """Each course: its line, then the lines of its weekly slots, sessions and prepaid packages."""


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: Any) -> str:
    """One field of a COPY text line: ``\\N`` for null, ``t``/``f``, numbers, escaped text."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    return str(value)


def copy_line(*values: Any) -> str:
    return "\t".join(map(copy_field, values)) + "\n"


def _text(value: str) -> str:
    """Free text as a COPY field (backslash, tab and line breaks escaped)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _bool(value: bool) -> str:
    return "t" if value else "f"


def copy_rows(d: dict[str, Any]) -> Rows:
    """The COPY lines of a *valid* document, without ids (columns as in :data:`COPY_SQL`).

    Written field by field for speed (it runs for every document of an import): free text is escaped;
    codes, times, dates, enums and numbers are written as they are, which validation makes safe (codes are
    letters, digits, ``-`` and ``_``; times ``HH:MM``; dates ``YYYY-MM-DD``)."""
    esc = d["escrow"]
    lic = d["licence"]
    licence = None
    if lic is not None:
        scope = lic["scope"]
        licence = copy_line(
            lic["number"],
            lic["first_approved_on"],
            lic["issued_on"],
            lic["valid_until"],
            lic["status"],
            pg_array(scope["categories"]),
            pg_array(scope["stages"]),
            pg_array(scope["modes"]),
        )
    return Rows(
        institution=copy_line(
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
            pg_array(_categories(d)),
            pg_array(queries.name_grams(d["name"])),
        ),
        licence=licence,
        premises=tuple(
            f"{p['code']}\t{_text(p['address'])}\t{p['area_m2']}\t{p['max_concurrent_students']}\n"
            for p in d["premises"]
        ),
        teachers=tuple(
            f"{t['code']}\t{_text(t['name'])}\t{_bool(t['has_teacher_certificate'])}"
            f"\t{_bool(t['serving_school_teacher'])}\n"
            for t in d["teachers"]
        ),
        courses=tuple(
            (
                f"{c['code']}\t{_text(c['title'])}\t{c['category']}\t{c['subject']}\t{pg_array(c['stages'])}"
                f"\t{c['mode']}\t{c['class_size_max']}\t{c['lesson_minutes']}\t{c['price_per_lesson_fen']}"
                f"\t{pg_array(c['teacher_codes'])}\t{c['term']['start']}\t{c['term']['end']}\n",
                tuple(f"{s['weekday']}\t{s['start']}\t{s['end']}\n" for s in c["weekly_slots"]),
                tuple(f"{s['date']}\t{s['start']}\t{s['end']}\n" for s in c["sessions"]),
                tuple(
                    f"{k['code']}\t{k['lessons']}\t{k['months']}\t{k['price_fen']}\n"
                    for k in c["prepaid_packages"]
                ),
            )
            for c in d["courses"]
        ),
    )


@dataclass(frozen=True)
class ValidDoc:
    """A document that passed validation: its credit code, canonical JSON, SHA-256 and COPY lines.

    The content itself is parsed back from the canonical JSON when asked for (rarely: storing needs only
    the lines)."""

    uscc: str
    canonical: bytes
    sha256: str
    rows: Rows

    @cached_property
    def doc(self) -> dict[str, Any]:
        return dict(orjson.loads(self.canonical))


def validate(raw: Any, loc: str = "") -> ValidDoc:
    """Validate one raw document; raise :class:`Invalid` listing every problem with its field path.

    The schema runs in strict JSON mode over the canonical bytes, so a valid document's content *is* its
    canonical form (every field present, dates as ``YYYY-MM-DD``, no coercion of wrong types). A document
    passing :mod:`fastcheck` (the same schema, checked more cheaply) is valid; any other goes through the
    schema itself, which has the last word and names every problem.
    """
    if not isinstance(raw, dict):
        raise Invalid("an institution document must be a JSON object", [Problem(loc or "$", "not an object")])
    data = canonical(raw)
    try:
        if not fastcheck.passes(data):
            InstitutionDoc.__pydantic_validator__.validate_json(data)
    except ValidationError as exc:
        where = f"institution {raw.get('uscc')!r}" if isinstance(raw.get("uscc"), str) else "institution"
        errors: list[Any] = list(exc.errors())
        # The checks across fields run in the schema only once the fields they span are valid: run them over
        # the raw document too, so that a duplicate code is reported beside a wrong type, not after its fix.
        reported = {(tuple(e["loc"]), str(e["msg"]).removeprefix("Value error, ")) for e in errors}
        errors += [e for e in cross_field_errors(raw) if (e["loc"], e["msg"]) not in reported]
        problems = problems_from_pydantic(errors, loc, PATTERN_HINTS)
        raise Invalid(f"{where} is not valid", problems) from None
    return ValidDoc(raw["uscc"], data, hashlib.sha256(data).hexdigest(), copy_rows(raw))


@dataclass
class SaveResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)


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
    if not items:
        return "{}"
    body = '","'.join(items)
    if "\\" in body or '"' in body:
        body = '","'.join(i.replace("\\", "\\\\").replace('"', '\\"') for i in items)
    return '{"' + body + '"}'


# Documents are written with one COPY per table and batch: every line was prepared at validation, so storing
# a batch only prefixes the ids drawn from the sequences and streams the text. New institutions are COPYed
# in place; changed ones through a scratch table and one UPDATE, after their children are deleted (they are
# replaced as a whole).
INSTITUTION_COLUMNS = (
    "uscc, name, nature, status, district, grid, address, has_escrow, escrow_mode, escrow_bank,"
    " escrow_account_last4, categories, search_grams"
)
COPY_SQL = {
    "institution": f"COPY institution (id, {INSTITUTION_COLUMNS}, doc_sha256, version, created_at,"
    " updated_at) FROM STDIN",
    "registry_changed": f"COPY registry_changed (id, {INSTITUTION_COLUMNS}, doc_sha256) FROM STDIN",
    "licence": "COPY licence (institution_id, number, first_approved_on, issued_on, valid_until, status,"
    " scope_categories, scope_stages, scope_modes) FROM STDIN",
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
  has_escrow boolean, escrow_mode text, escrow_bank text, escrow_account_last4 text, categories text[],
  search_grams text[], doc_sha256 text) ON COMMIT DELETE ROWS"""
UPDATE_CHANGED = f"""UPDATE institution i SET ({INSTITUTION_COLUMNS}, doc_sha256, version, updated_at)
  = ({", ".join("s." + c.strip() for c in INSTITUTION_COLUMNS.split(","))}, s.doc_sha256, i.version + 1,
     %(now)s)
  FROM registry_changed s WHERE i.id = s.id"""


def _json_field(data: bytes) -> str:
    """Compact JSON (no raw control characters) as a COPY field: only backslashes need doubling."""
    return data.decode().replace("\\", "\\\\")


def copy_text(
    staged: Sequence[tuple[int, bool, ValidDoc]],
    course_ids: Iterator[int],
    before: dict[int, dict[str, Any]],
    *,
    actor: str,
    now: dt.datetime,
) -> dict[str, list[str]]:
    """The text of every COPY of a batch: each prepared line prefixed with its ids."""
    out: dict[str, list[str]] = {table: [] for table in COPY_SQL}
    ts = now.isoformat()
    rid = copy_field(request_id_var.get())
    who = copy_field(actor)
    for iid, is_new, v in staged:
        r = v.rows
        p = f"{iid}\t"
        if is_new:
            out["institution"].append(f"{p}{r.institution[:-1]}\t{v.sha256}\t1\t{ts}\t{ts}\n")
        else:
            out["registry_changed"].append(f"{p}{r.institution[:-1]}\t{v.sha256}\n")
        if r.licence is not None:
            out["licence"].append(p + r.licence)
        out["premises"].extend(p + line for line in r.premises)
        out["teacher"].extend(p + line for line in r.teachers)
        for course, slots, sessions, packages in r.courses:
            c = f"{next(course_ids)}\t"
            out["course"].append(c + p + course)
            out["course_slot"].extend(c + line for line in slots)
            out["course_session"].extend(c + line for line in sessions)
            out["prepaid_package"].extend(c + line for line in packages)
        old = _json_field(orjson.dumps(before[iid])) if not is_new else "\\N"
        action = "create" if is_new else "replace"
        out["audit_log"].append(
            f"{ts}\t{who}\t{action}\tinstitution\t{v.uscc}\t{old}\t{_json_field(v.canonical)}\t{rid}\n"
        )
    return out


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
    course_ids = iter(_next_ids(session, "course", sum(len(v.rows.courses) for _, _, v in staged)))
    lines = copy_text(staged, course_ids, before, actor=actor, now=now)
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
            # Another transaction registered one of these credit codes after ours looked: nothing of this
            # batch is kept (the transaction is aborted), and the caller is told to try again.
            raise Conflict(
                "another change registered the same institution at the same time; try again",
                "concurrent_change",
            ) from None
        if changed:
            cur.execute(UPDATE_CHANGED, {"now": now})
            # Emptied now, not only at commit: a second save in the same transaction must not see these.
            cur.execute("DELETE FROM registry_changed")
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
