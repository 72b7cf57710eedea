"""Registry changes: create, replace and delete institutions, in bulk or one at a time, with audit rows.

Every write goes through :func:`save_documents`: the API saving one institution and an import of 100k use
the same path, so validation, unchanged-detection and audit are the same everywhere. Rows are written with
PostgreSQL COPY (ids drawn from the sequences first), which is what makes bulk imports fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import text
from sqlmodel import Session

from supervision.core.audit import request_id_var
from supervision.core.errors import Conflict, Invalid, NotFound, Problem, problems_from_pydantic
from supervision.registry import queries
from supervision.registry.schemas import InstitutionDoc


def canonical(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def doc_sha256(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()


def validate(raw: Any, loc: str = "") -> InstitutionDoc:
    """Validate one raw document; raise :class:`Invalid` listing every problem with its field path."""
    if not isinstance(raw, dict):
        raise Invalid("an institution document must be a JSON object", [Problem(loc or "$", "not an object")])
    try:
        return InstitutionDoc.model_validate(raw)
    except ValidationError as exc:
        where = f"institution {raw.get('uscc')!r}" if isinstance(raw.get("uscc"), str) else "institution"
        raise Invalid(f"{where} is not valid", problems_from_pydantic(exc.errors(), loc)) from None


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
    rows = session.execute(
        text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)"), {"n": n}
    ).scalars()
    return list(rows)


def save_documents(
    session: Session,
    docs: Sequence[InstitutionDoc],
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
    plain = [d.to_document() for d in docs]
    seen: set[str] = set()
    for d in plain:
        if d["uscc"] in seen:
            raise Invalid(
                "the same institution appears twice", [Problem(d["uscc"], "duplicate uscc in input")]
            )
        seen.add(d["uscc"])
    have = queries.existing(session, [d["uscc"] for d in plain])
    if mode == "create" and have:
        raise Conflict(f"already registered: {', '.join(sorted(have))}", "already_exists")

    new: list[tuple[dict[str, Any], str]] = []
    changed: list[tuple[dict[str, Any], str, int, int]] = []
    for d in plain:
        sha = doc_sha256(d)
        if d["uscc"] in have:
            iid, old_sha, version = have[d["uscc"]]
            result.ids[d["uscc"]] = iid
            if old_sha == sha:
                result.unchanged.append(d["uscc"])
            else:
                changed.append((d, sha, iid, version))
                result.updated.append(d["uscc"])
        else:
            new.append((d, sha))
            result.created.append(d["uscc"])
    if not new and not changed:
        return result

    session.flush()
    before = queries.documents_by_id(session, [c[2] for c in changed])
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        if changed:
            ids = [c[2] for c in changed]
            for table in ("licence", "premises", "teacher", "course"):
                cur.execute(f"DELETE FROM {table} WHERE institution_id = ANY(%s)", (ids,))
            cur.executemany(
                "UPDATE institution SET name=%s, nature=%s, status=%s, district=%s, grid=%s, address=%s,"
                " has_escrow=%s, escrow_mode=%s, escrow_bank=%s, escrow_account_last4=%s, categories=%s,"
                " search_grams=%s, doc_sha256=%s, version=%s, updated_at=%s WHERE id=%s",
                [
                    (*_institution_values(d)[1:], sha, version + 1, now, iid)
                    for d, sha, iid, version in changed
                ],
            )
        new_ids = _next_ids(session, "institution", len(new))
        for (d, _), iid in zip(new, new_ids, strict=True):
            result.ids[d["uscc"]] = iid
        if new:
            with cur.copy(
                "COPY institution (id, uscc, name, nature, status, district, grid, address, has_escrow,"
                " escrow_mode, escrow_bank, escrow_account_last4, categories, search_grams, doc_sha256,"
                " version, created_at, updated_at) FROM STDIN"
            ) as cp:
                for (d, sha), iid in zip(new, new_ids, strict=True):
                    cp.write_row((iid, *_institution_values(d), sha, 1, now, now))
        _copy_children(
            session,
            cur,
            [(result.ids[d["uscc"]], d) for d in (*[n[0] for n in new], *[c[0] for c in changed])],
        )
        with cur.copy(
            "COPY audit_log (at, actor, action, entity, entity_key, before, after, request_id) FROM STDIN"
        ) as cp:
            rid = request_id_var.get()
            for d, _ in new:
                cp.write_row(
                    (now, actor, "create", "institution", d["uscc"], None, canonical(d).decode(), rid)
                )
            for d, _, iid, _ in changed:
                cp.write_row(
                    (
                        now,
                        actor,
                        "replace",
                        "institution",
                        d["uscc"],
                        orjson.dumps(before[iid]).decode(),
                        canonical(d).decode(),
                        rid,
                    )
                )
    return result


def _institution_values(d: dict[str, Any]) -> tuple[Any, ...]:
    esc = d["escrow"]
    return (
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
        _categories(d),
        queries.name_grams(d["name"]),
    )


def _copy_children(session: Session, cur: Any, items: list[tuple[int, dict[str, Any]]]) -> None:
    licences = [(iid, d["licence"]) for iid, d in items if d["licence"]]
    premises = [(iid, p) for iid, d in items for p in d["premises"]]
    teachers = [(iid, t) for iid, d in items for t in d["teachers"]]
    courses = [(iid, c) for iid, d in items for c in d["courses"]]
    if licences:
        with cur.copy(
            "COPY licence (institution_id, number, first_approved_on, issued_on, valid_until, status,"
            " scope_categories, scope_stages, scope_modes) FROM STDIN"
        ) as cp:
            for iid, li in licences:
                s = li["scope"]
                cp.write_row(
                    (
                        iid,
                        li["number"],
                        li["first_approved_on"],
                        li["issued_on"],
                        li["valid_until"],
                        li["status"],
                        s["categories"],
                        s["stages"],
                        s["modes"],
                    )
                )
    if premises:
        with cur.copy(
            "COPY premises (institution_id, code, address, area_m2, max_concurrent_students) FROM STDIN"
        ) as cp:
            for iid, p in premises:
                cp.write_row((iid, p["code"], p["address"], p["area_m2"], p["max_concurrent_students"]))
    if teachers:
        with cur.copy(
            "COPY teacher (institution_id, code, name, has_teacher_certificate, serving_school_teacher)"
            " FROM STDIN"
        ) as cp:
            for iid, t in teachers:
                cp.write_row(
                    (iid, t["code"], t["name"], t["has_teacher_certificate"], t["serving_school_teacher"])
                )
    if not courses:
        return
    course_ids = _next_ids(session, "course", len(courses))
    with cur.copy(
        "COPY course (id, institution_id, code, title, category, subject, stages, mode, class_size_max,"
        " lesson_minutes, price_per_lesson_fen, teacher_codes, term_start, term_end) FROM STDIN"
    ) as cp:
        for cid, (iid, c) in zip(course_ids, courses, strict=True):
            cp.write_row(
                (
                    cid,
                    iid,
                    c["code"],
                    c["title"],
                    c["category"],
                    c["subject"],
                    c["stages"],
                    c["mode"],
                    c["class_size_max"],
                    c["lesson_minutes"],
                    c["price_per_lesson_fen"],
                    c["teacher_codes"],
                    c["term"]["start"],
                    c["term"]["end"],
                )
            )
    pairs = list(zip(course_ids, (c for _, c in courses), strict=True))
    with cur.copy('COPY course_slot (course_id, weekday, start, "end") FROM STDIN') as cp:
        for cid, c in pairs:
            for s in c["weekly_slots"]:
                cp.write_row((cid, s["weekday"], s["start"], s["end"]))
    with cur.copy('COPY course_session (course_id, date, start, "end") FROM STDIN') as cp:
        for cid, c in pairs:
            for s in c["sessions"]:
                cp.write_row((cid, s["date"], s["start"], s["end"]))
    with cur.copy("COPY prepaid_package (course_id, code, lessons, months, price_fen) FROM STDIN") as cp:
        for cid, c in pairs:
            for k in c["prepaid_packages"]:
                cp.write_row((cid, k["code"], k["lessons"], k["months"], k["price_fen"]))


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
    before = get(session, uscc)
    session.execute(text("DELETE FROM institution WHERE uscc = :u"), {"u": uscc})
    from supervision.core import audit

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
