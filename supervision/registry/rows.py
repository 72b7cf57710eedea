"""A valid institution document as the lines PostgreSQL COPY reads (text format), prepared at validation so
that storing a batch only prefixes the ids drawn from the sequences and streams the text, one COPY per
table: what makes bulk imports fast."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from supervision.core.audit import request_id_var
from supervision.core.pgcopy import copy_bool, copy_field, copy_json, copy_line, copy_text, pg_array
from supervision.registry import queries

if TYPE_CHECKING:
    from supervision.registry.service import ValidDoc


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


def copy_rows(d: dict[str, Any]) -> Rows:
    """The COPY lines of a *valid* document, without ids (columns as in :data:`queries.COPY_SQL`).

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
            None if lic.get("scope_history") is None else orjson.dumps(lic["scope_history"]).decode(),
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
            esc.get("since") if esc else None,
            pg_array(categories(d)),
            pg_array(queries.name_grams(d["name"])),
        ),
        licence=licence,
        premises=tuple(
            f"{p['code']}\t{copy_text(p['address'])}\t{p['area_m2']}\t{p['max_concurrent_students']}\n"
            for p in d["premises"]
        ),
        teachers=tuple(
            f"{t['code']}\t{copy_text(t['name'])}\t{copy_bool(t['has_teacher_certificate'])}"
            f"\t{copy_bool(t['serving_school_teacher'])}\n"
            for t in d["teachers"]
        ),
        courses=tuple(
            (
                f"{c['code']}\t{copy_text(c['title'])}\t{c['category']}\t{c['subject']}\t{pg_array(c['stages'])}"
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


def categories(doc: dict[str, Any]) -> list[str]:
    cats = set(doc["licence"]["scope"]["categories"]) if doc["licence"] else set()
    cats.update(c["category"] for c in doc["courses"])
    return sorted(cats)


def batch_lines(
    staged: Sequence[tuple[int, bool, ValidDoc]],
    course_ids: Iterator[int],
    before: dict[int, dict[str, Any]],
    *,
    actor: str,
    now: dt.datetime,
) -> dict[str, list[str]]:
    """The text of every COPY of a batch: each prepared line prefixed with its ids."""
    out: dict[str, list[str]] = {table: [] for table in queries.COPY_SQL}
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
        old = copy_json(orjson.dumps(before[iid])) if not is_new else "\\N"
        action = "create" if is_new else "replace"
        out["audit_log"].append(
            f"{ts}\t{who}\t{action}\tinstitution\t{v.uscc}\t{old}\t{copy_json(v.canonical)}\t{rid}\n"
        )
    return out
