"""Import the demo registry (JSON lines) with full validation, against a raw COPY of the same rows.

    python -m bench.import_registry [--count 100000]

Baseline (same run, same database server): the same rows that the import writes (institutions, licences,
premises, teachers, courses, slots, sessions, packages) loaded with plain COPY, no validation, no hashing,
no audit, into an identical empty schema.
"""

from __future__ import annotations

import argparse
import datetime as dt

import orjson
import psycopg
from sqlalchemy.engine import make_url

from bench.common import registry_file, scratch_database, timed
from supervision.db import make_engine
from supervision.registry import queries
from supervision.registry.io import import_records, read_source


def raw_copy(url: str, path) -> int:  # type: ignore[no-untyped-def]
    """COPY every row of every document, with ids assigned in Python: the floor for any import."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        now = dt.datetime.now(dt.UTC)
        docs = [orjson.loads(line) for line in path.read_bytes().splitlines()]
        with cur.copy(
            "COPY institution (id, uscc, name, nature, status, district, grid, address, has_escrow,"
            " categories, search_grams, doc_sha256, version, created_at, updated_at) FROM STDIN"
        ) as cp:
            for i, d in enumerate(docs, 1):
                cp.write_row(
                    (
                        i,
                        d["uscc"],
                        d["name"],
                        d["nature"],
                        d["status"],
                        d["district"],
                        d["grid"],
                        d["address"],
                        d["escrow"] is not None,
                        [],
                        [],
                        "",
                        1,
                        now,
                        now,
                    )
                )
                rows += 1
        with cur.copy(
            "COPY teacher (institution_id, code, name, has_teacher_certificate,"
            " serving_school_teacher) FROM STDIN"
        ) as cp:
            for i, d in enumerate(docs, 1):
                for t in d["teachers"]:
                    cp.write_row(
                        (i, t["code"], t["name"], t["has_teacher_certificate"], t["serving_school_teacher"])
                    )
                    rows += 1
        with cur.copy(
            "COPY premises (institution_id, code, address, area_m2, max_concurrent_students) FROM STDIN"
        ) as cp:
            for i, d in enumerate(docs, 1):
                for p in d["premises"]:
                    cp.write_row((i, p["code"], p["address"], p["area_m2"], p["max_concurrent_students"]))
                    rows += 1
        cid = 0
        courses = []
        with cur.copy(
            "COPY course (id, institution_id, code, title, category, subject, stages, mode,"
            " class_size_max, lesson_minutes, price_per_lesson_fen, teacher_codes, term_start,"
            " term_end) FROM STDIN"
        ) as cp:
            for i, d in enumerate(docs, 1):
                for c in d["courses"]:
                    cid += 1
                    courses.append((cid, c))
                    cp.write_row(
                        (
                            cid,
                            i,
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
                    rows += 1
        with cur.copy('COPY course_slot (course_id, weekday, start, "end") FROM STDIN') as cp:
            for cid, c in courses:
                for s in c["weekly_slots"]:
                    cp.write_row((cid, s["weekday"], s["start"], s["end"]))
                    rows += 1
        with cur.copy('COPY course_session (course_id, date, start, "end") FROM STDIN') as cp:
            for cid, c in courses:
                for s in c["sessions"]:
                    cp.write_row((cid, s["date"], s["start"], s["end"]))
                    rows += 1
        with cur.copy("COPY prepaid_package (course_id, code, lessons, months, price_fen) FROM STDIN") as cp:
            for cid, c in courses:
                for k in c["prepaid_packages"]:
                    cp.write_row((cid, k["code"], k["lessons"], k["months"], k["price_fen"]))
                    rows += 1
        conn.commit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    path = registry_file(args.count)
    results: dict[str, float] = {}
    # Time the COPY alone, not the set-up of its database.
    with scratch_database("sv_bench_copy") as url:  # noqa: SIM117
        with timed(results, "copy"):
            rows = raw_copy(url, path)
    with scratch_database("sv_bench_import") as url:
        engine = make_engine(url)
        now = dt.datetime.now(dt.UTC)
        with timed(results, "import"):
            report = import_records(engine, read_source(path), actor="bench", now=now)
        with timed(results, "reimport"):
            again = import_records(engine, read_source(path), actor="bench", now=now)
        with engine.connect() as conn:
            from sqlmodel import Session

            with Session(bind=conn) as s:
                assert queries.document(s, orjson.loads(path.open("rb").readline())["uscc"]) is not None
        engine.dispose()
    n = args.count
    print(f"institutions: {n} ({path.stat().st_size / 1e6:.1f} MB JSON lines, {rows} rows)")
    copy, imp, again_s = results["copy"], results["import"], results["reimport"]
    print(
        f"baseline raw COPY of the same rows: {copy:.2f} s ({n / copy:,.0f} inst/s,"
        f" {rows / copy:,.0f} rows/s)"
    )
    print(
        f"import with validation + audit:     {imp:.2f} s ({n / imp:,.0f} inst/s)"
        f"  imported={report.imported} rejected={len(report.rejected)}"
    )
    print(
        f"re-import, all unchanged:           {again_s:.2f} s ({n / again_s:,.0f} inst/s)"
        f"  unchanged={again.unchanged}"
    )
    print(f"ratio import / raw COPY: {results['import'] / results['copy']:.2f}x")


if __name__ == "__main__":
    main()
