"""Registry import and export: a JSON document or array, JSON lines, or a folder of CSV tables.

Text is decoded as UTF-8 (with or without BOM) or, failing that, GB18030 — what spreadsheets in China save.
A bad record is reported with its line and field and does not stop the good ones. Records are written in
batches, each batch in its own transaction and each institution whole or not at all, so an interrupted import
leaves complete institutions only and re-running it finishes the job (identical records are left alone).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.core.errors import Invalid, Problem
from supervision.db import bulk_timeouts
from supervision.registry import queries
from supervision.registry import service as registry

BATCH = 1000
WRITERS = 2


@dataclass
class Record:
    loc: str
    """Where the record came from: ``file.jsonl:12`` or ``institutions.csv:3``."""
    raw: Any
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    """For CSV: field-path prefix → ``table.csv:line`` it came from, so problems name the row."""

    def locate(self, problems: list[Problem]) -> list[Problem]:
        """Prefix each problem with the CSV row its field came from (the longest matching path)."""
        if not self.sources:
            return problems
        out = []
        for p in problems:
            best = max(
                (k for k in self.sources if p.loc == k or p.loc.startswith((k + ".", k + "["))),
                key=len,
                default="",
            )
            out.append(Problem(f"{self.sources.get(best, self.loc)}: {p.loc}", p.msg))
        return out


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[str, list[Problem]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [
                {"record": loc, "problems": [p.as_dict() for p in problems]}
                for loc, problems in self.rejected
            ],
        }


def decode(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is dropped) or GB18030; anything else is a clear error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"{name} is neither UTF-8 nor GB18030 text",
            [Problem(f"{name}:byte {exc.start}", "undecodable bytes")],
        ) from None


# --------------------------------------------------------------------------------------------- reading


def read_json(text: str, name: str) -> Iterator[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Record(f"{name}:{exc.lineno}", None, [Problem(f"{name}:{exc.lineno}:{exc.colno}", exc.msg)])
        return
    except RecursionError:
        yield Record(name, None, [Problem(name, "nested too deep to be an institution document")])
        return
    if isinstance(data, dict) and set(data) == {"institutions"}:
        data = data["institutions"]
    if isinstance(data, dict):
        yield Record(name, data)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield Record(f"{name}[{i}]", item)
    else:
        yield Record(name, None, [Problem(name, "expected an institution object or an array of them")])


def read_jsonl(lines: Iterable[str], name: str) -> Iterator[Record]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield Record(f"{name}:{n}", orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield Record(f"{name}:{n}", None, [Problem(f"{name}:{n}", f"not valid JSON: {exc}")])


# CSV tables (one per part of the document), keyed by uscc and codes. Lists inside a cell are separated by |.
CSV_TABLES: dict[str, tuple[str, ...]] = {
    "institutions": (
        "uscc",
        "name",
        "nature",
        "status",
        "district",
        "grid",
        "address",
        "escrow_mode",
        "escrow_bank",
        "escrow_account_last4",
        "escrow_since",
    ),
    "licences": (
        "uscc",
        "number",
        "first_approved_on",
        "issued_on",
        "valid_until",
        "status",
        "categories",
        "stages",
        "modes",
    ),
    "scope_history": ("uscc", "from", "categories", "stages", "modes"),
    "premises": ("uscc", "code", "address", "area_m2", "max_concurrent_students"),
    "teachers": ("uscc", "code", "name", "has_teacher_certificate", "serving_school_teacher"),
    "courses": (
        "uscc",
        "code",
        "title",
        "category",
        "subject",
        "stages",
        "mode",
        "class_size_max",
        "lesson_minutes",
        "price_per_lesson_fen",
        "teacher_codes",
        "term_start",
        "term_end",
    ),
    "slots": ("uscc", "course_code", "weekday", "start", "end"),
    "sessions": ("uscc", "course_code", "date", "start", "end"),
    "packages": ("uscc", "course_code", "code", "lessons", "months", "price_fen"),
}
OPTIONAL_TABLES = {
    "licences",
    "scope_history",
    "premises",
    "teachers",
    "courses",
    "slots",
    "sessions",
    "packages",
}
OPTIONAL_COLUMNS = {"institutions": {"escrow_since"}}
"""Columns added after the first format: a table without them is read as if they were empty."""
_TRUE = {"true", "1", "yes", "y", "是", "有", "t"}
_FALSE = {"false", "0", "no", "n", "否", "无", "f"}


def _int(v: str) -> Any:
    try:
        return int(v.strip())
    except ValueError:
        return v  # left as text: the document validator names the field


def _bool(v: str) -> Any:
    s = v.strip().lower()
    return True if s in _TRUE else False if s in _FALSE else v


def _list(v: str) -> list[str]:
    return [p.strip() for p in v.split("|") if p.strip()]


def _opt(v: str) -> str | None:
    return v.strip() or None


def read_csv_folder(folder: Path) -> Iterator[Record]:
    """Assemble institution documents from the CSV tables of a folder; report rows that fit nowhere."""
    tables: dict[str, list[tuple[int, dict[str, str]]]] = {}
    header_problems: list[tuple[str, Problem]] = []
    for table, columns in CSV_TABLES.items():
        path = folder / f"{table}.csv"
        if not path.exists():
            if table not in OPTIONAL_TABLES:
                raise Invalid(f"{folder} has no {table}.csv", [Problem(f"{table}.csv", "missing")])
            tables[table] = []
            continue
        reader = csv.DictReader(io.StringIO(decode(path.read_bytes(), path.name), newline=""))
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header and c not in OPTIONAL_COLUMNS.get(table, ())]
        unknown = [c for c in header if c not in columns]
        if missing or unknown:
            msg = "; ".join(
                part
                for part in (
                    f"missing columns: {', '.join(missing)}" if missing else "",
                    f"unknown columns: {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
            header_problems.append((f"{table}.csv:1", Problem(f"{table}.csv:1", msg)))
            tables[table] = []
            continue
        rows = []
        for n, row in enumerate(reader, start=2):
            clean = {(k or "").strip(): (v or "") for k, v in row.items() if k is not None}
            for c in OPTIONAL_COLUMNS.get(table, ()):
                clean.setdefault(c, "")
            if None in row:
                header_problems.append(
                    (f"{table}.csv:{n}", Problem(f"{table}.csv:{n}", "more cells than header columns"))
                )
                continue
            rows.append((n, clean))
        tables[table] = rows
    if header_problems:
        raise Invalid("the CSV tables cannot be read", [p for _, p in header_problems])

    docs: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    sources: dict[str, dict[str, str]] = {}
    courses: dict[tuple[str, str], dict[str, Any]] = {}
    orphans: list[Record] = []

    def orphan(table: str, n: int, what: str) -> None:
        orphans.append(Record(f"{table}.csv:{n}", None, [Problem(f"{table}.csv:{n}", what)]))

    for n, r in tables["institutions"]:
        if r["uscc"] in docs:
            orphan("institutions", n, f"credit code {r['uscc']} appears again (first at {origin[r['uscc']]})")
            continue
        origin[r["uscc"]] = f"institutions.csv:{n}"
        sources[r["uscc"]] = {"": f"institutions.csv:{n}"}
        escrow = None
        if any(r[k].strip() for k in ("escrow_mode", "escrow_bank", "escrow_account_last4", "escrow_since")):
            escrow = {
                "mode": _opt(r["escrow_mode"]),
                "bank": _opt(r["escrow_bank"]),
                "account_last4": _opt(r["escrow_account_last4"]),
            }
            if since := _opt(r["escrow_since"]):
                escrow["since"] = since
        docs[r["uscc"]] = {
            "uscc": r["uscc"].strip(),
            "name": r["name"].strip(),
            "nature": r["nature"].strip(),
            "status": r["status"].strip(),
            "district": r["district"].strip(),
            "grid": r["grid"].strip(),
            "address": r["address"].strip(),
            "licence": None,
            "escrow": escrow,
            "premises": [],
            "teachers": [],
            "courses": [],
        }
    for n, r in tables["licences"]:
        if (d := docs.get(r["uscc"])) is None:
            orphan("licences", n, f"no institution {r['uscc']} in institutions.csv")
            continue
        sources[r["uscc"]]["licence"] = f"licences.csv:{n}"
        d["licence"] = {
            "number": r["number"],
            "first_approved_on": r["first_approved_on"].strip(),
            "issued_on": r["issued_on"].strip(),
            "valid_until": r["valid_until"].strip(),
            "status": r["status"].strip(),
            "scope": {
                "categories": _list(r["categories"]),
                "stages": _list(r["stages"]),
                "modes": _list(r["modes"]),
            },
        }
    for n, r in tables["scope_history"]:
        d = docs.get(r["uscc"])
        if d is None or d["licence"] is None:
            what = "institution" if d is None else "licence"
            where = "institutions.csv" if d is None else "licences.csv"
            orphan("scope_history", n, f"no {what} {r['uscc']} in {where}")
            continue
        history = d["licence"].setdefault("scope_history", [])
        sources[r["uscc"]][f"licence.scope_history[{len(history)}]"] = f"scope_history.csv:{n}"
        history.append(
            {
                "from": r["from"].strip(),
                "categories": _list(r["categories"]),
                "stages": _list(r["stages"]),
                "modes": _list(r["modes"]),
            }
        )
    for n, r in tables["premises"]:
        if (d := docs.get(r["uscc"])) is None:
            orphan("premises", n, f"no institution {r['uscc']} in institutions.csv")
            continue
        sources[r["uscc"]][f"premises[{len(d['premises'])}]"] = f"premises.csv:{n}"
        d["premises"].append(
            {
                "code": r["code"].strip(),
                "address": r["address"].strip(),
                "area_m2": r["area_m2"].strip(),
                "max_concurrent_students": _int(r["max_concurrent_students"]),
            }
        )
    for n, r in tables["teachers"]:
        if (d := docs.get(r["uscc"])) is None:
            orphan("teachers", n, f"no institution {r['uscc']} in institutions.csv")
            continue
        sources[r["uscc"]][f"teachers[{len(d['teachers'])}]"] = f"teachers.csv:{n}"
        d["teachers"].append(
            {
                "code": r["code"].strip(),
                "name": r["name"].strip(),
                "has_teacher_certificate": _bool(r["has_teacher_certificate"]),
                "serving_school_teacher": _bool(r["serving_school_teacher"]),
            }
        )
    for n, r in tables["courses"]:
        if (d := docs.get(r["uscc"])) is None:
            orphan("courses", n, f"no institution {r['uscc']} in institutions.csv")
            continue
        sources[r["uscc"]][f"courses[{len(d['courses'])}]"] = f"courses.csv:{n}"
        course = {
            "code": r["code"].strip(),
            "title": r["title"].strip(),
            "category": r["category"].strip(),
            "subject": r["subject"].strip(),
            "stages": _list(r["stages"]),
            "mode": r["mode"].strip(),
            "class_size_max": _int(r["class_size_max"]),
            "lesson_minutes": _int(r["lesson_minutes"]),
            "price_per_lesson_fen": _int(r["price_per_lesson_fen"]),
            "teacher_codes": _list(r["teacher_codes"]),
            "term": {"start": r["term_start"].strip(), "end": r["term_end"].strip()},
            "weekly_slots": [],
            "sessions": [],
            "prepaid_packages": [],
        }
        d["courses"].append(course)
        courses[(r["uscc"], course["code"])] = course
        course["_path"] = f"courses[{len(d['courses']) - 1}]"
    builders: tuple[tuple[str, str, Callable[[dict[str, str]], dict[str, Any]]], ...] = (
        (
            "slots",
            "weekly_slots",
            lambda r: {"weekday": _int(r["weekday"]), "start": r["start"].strip(), "end": r["end"].strip()},
        ),
        (
            "sessions",
            "sessions",
            lambda r: {"date": r["date"].strip(), "start": r["start"].strip(), "end": r["end"].strip()},
        ),
        (
            "packages",
            "prepaid_packages",
            lambda r: {
                "code": r["code"].strip(),
                "lessons": _int(r["lessons"]),
                "months": _int(r["months"]),
                "price_fen": _int(r["price_fen"]),
            },
        ),
    )
    for table, key, build in builders:
        for n, r in tables[table]:
            found = courses.get((r["uscc"], r["course_code"].strip()))
            if found is None:
                orphan(table, n, f"no course {r['course_code']} of {r['uscc']} in courses.csv")
                continue
            sources[r["uscc"]][f"{found['_path']}.{key}[{len(found[key])}]"] = f"{table}.csv:{n}"
            found[key].append(build(r))
    for course in courses.values():
        del course["_path"]
    yield from orphans
    for uscc, d in docs.items():
        yield Record(f"{origin[uscc]} ({uscc})", d, sources=sources[uscc])


def read_source(path: Path) -> Iterator[Record]:
    if path.is_dir():
        yield from read_csv_folder(path)
        return
    name = path.name
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        yield from read_jsonl(decode(path.read_bytes(), name).splitlines(), name)
        return
    if path.suffix.lower() == ".json":
        yield from read_json(decode(path.read_bytes(), name), name)
        return
    raise Invalid(
        f"cannot import {name}", [Problem(name, "expected .json, .jsonl or a folder of CSV tables")]
    )


# --------------------------------------------------------------------------------------------- importing


def import_records(
    engine: Engine,
    records: Iterable[Record],
    *,
    actor: str,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate every record, store the good ones in batches, and report the bad ones with their place."""
    report = ImportReport()
    seen: dict[str, str] = {}
    batch: list[Any] = []

    def write(docs: list[Any]) -> registry.SaveResult:
        with Session(engine) as session:
            bulk_timeouts(session)
            res = registry.save_documents(session, docs, actor=actor, now=now, skip_refused=True)
            session.commit()
        return res

    def collect(done: Future[registry.SaveResult], size: int) -> None:
        res = done.result()
        report.imported += len(res.created)
        report.updated += len(res.updated)
        report.unchanged += len(res.unchanged)
        for uscc, problems in res.refused.items():
            report.rejected.append((seen[uscc], problems))
        if progress:
            progress(size)

    # Writer threads, each with its own connection: while PostgreSQL stores earlier batches, this thread
    # validates the next. Batches never share an institution (``seen``), so they cannot conflict.
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="import-writer") as writer:
        pending: deque[tuple[Future[registry.SaveResult], int]] = deque()

        def submit() -> None:
            nonlocal batch
            if not batch:
                return
            if len(pending) >= WRITERS:
                collect(*pending.popleft())
            pending.append((writer.submit(write, batch), len(batch)))
            batch = []

        for rec in records:
            if rec.problems:
                report.rejected.append((rec.loc, rec.problems))
                continue
            try:
                doc = registry.validate(rec.raw)
            except Invalid as err:
                report.rejected.append((rec.loc, rec.locate(err.problems)))
                continue
            if doc.uscc in seen:
                report.rejected.append(
                    (rec.loc, [Problem("uscc", f"{doc.uscc} appears again (first at {seen[doc.uscc]})")])
                )
                continue
            seen[doc.uscc] = rec.loc
            batch.append(doc)
            if len(batch) >= BATCH:
                submit()
        submit()
        while pending:
            collect(*pending.popleft())
    return report


# --------------------------------------------------------------------------------------------- exporting


def export(engine: Engine, target: Path, fmt: str) -> int:
    """Write the whole registry as ``jsonl``, ``json`` or ``csv`` (a folder of tables). Returns the count."""
    count = 0
    with Session(engine) as session:
        bulk_timeouts(session)
        batches = (doc for batch in queries.iter_documents(session) for _, doc in batch)
        if fmt == "jsonl":
            with target.open("wb") as f:
                for doc in batches:
                    f.write(orjson.dumps(doc) + b"\n")
                    count += 1
        elif fmt == "json":
            with target.open("wb") as f:
                f.write(b"[")
                for doc in batches:
                    f.write((b",\n" if count else b"\n") + orjson.dumps(doc))
                    count += 1
                f.write(b"\n]\n")
        elif fmt == "csv":
            count = _export_csv(batches, target)
        else:
            raise Invalid("unknown export format", [Problem("format", "jsonl, json or csv")])
    return count


def _export_csv(docs: Iterable[dict[str, Any]], folder: Path) -> int:
    """The registry as CSV tables, every value exactly as stored: a data interchange format that
    ``supervision import`` reads back, so no cell is altered (the downloads people open in a spreadsheet
    neutralise formula cells instead: :mod:`supervision.core.csvout`)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {t: (folder / f"{t}.csv").open("w", encoding="utf-8-sig", newline="") for t in CSV_TABLES}
    writers = {t: csv.writer(f) for t, f in files.items()}
    for t, cols in CSV_TABLES.items():
        writers[t].writerow(cols)
    count = 0
    j = "|".join
    try:
        for d in docs:
            count += 1
            u = d["uscc"]
            e = d["escrow"] or {}
            writers["institutions"].writerow(
                [
                    u,
                    d["name"],
                    d["nature"],
                    d["status"],
                    d["district"],
                    d["grid"],
                    d["address"],
                    e.get("mode") or "",
                    e.get("bank") or "",
                    e.get("account_last4") or "",
                    e.get("since") or "",
                ]
            )
            if (li := d["licence"]) is not None:
                s = li["scope"]
                writers["licences"].writerow(
                    [
                        u,
                        li["number"],
                        li["first_approved_on"],
                        li["issued_on"],
                        li["valid_until"],
                        li["status"],
                        j(s["categories"]),
                        j(s["stages"]),
                        j(s["modes"]),
                    ]
                )
                for h in li.get("scope_history") or []:
                    writers["scope_history"].writerow(
                        [u, h["from"], j(h["categories"]), j(h["stages"]), j(h["modes"])]
                    )
            for p in d["premises"]:
                writers["premises"].writerow(
                    [u, p["code"], p["address"], p["area_m2"], p["max_concurrent_students"]]
                )
            for t in d["teachers"]:
                writers["teachers"].writerow(
                    [
                        u,
                        t["code"],
                        t["name"],
                        str(t["has_teacher_certificate"]).lower(),
                        str(t["serving_school_teacher"]).lower(),
                    ]
                )
            for c in d["courses"]:
                writers["courses"].writerow(
                    [
                        u,
                        c["code"],
                        c["title"],
                        c["category"],
                        c["subject"],
                        j(c["stages"]),
                        c["mode"],
                        c["class_size_max"],
                        c["lesson_minutes"],
                        c["price_per_lesson_fen"],
                        j(c["teacher_codes"]),
                        c["term"]["start"],
                        c["term"]["end"],
                    ]
                )
                for s in c["weekly_slots"]:
                    writers["slots"].writerow([u, c["code"], s["weekday"], s["start"], s["end"]])
                for s in c["sessions"]:
                    writers["sessions"].writerow([u, c["code"], s["date"], s["start"], s["end"]])
                for k in c["prepaid_packages"]:
                    writers["packages"].writerow(
                        [u, c["code"], k["code"], k["lessons"], k["months"], k["price_fen"]]
                    )
    finally:
        for f in files.values():
            f.close()
    return count
