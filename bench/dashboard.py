"""The console's dashboard on the demo registry, beside the plain read of one institution.

    python -m bench.dashboard --count 2000 [--runs 30] [--edits 4]

A scratch database gets the demo registry of ``--count`` institutions (imported as of two years ago), a
registry history (a tenth of the subject-training institutions closed, spread over the 24 months, each a
replace with its audit row, as the registry records it), a full rule run (its findings), and in proportion:
cases for 5 % of institutions in every state (rectification orders with their decisions), complaints for
3 % (half awaiting triage), inspections of 40 % within the last 18 months. With ``--edits N``, a quarter of
the institutions also get N routine edits each in the audit log (status and scope unchanged), spread over
the 24 months: the subject-training trend reads the documents before such changes. Then, in the same run:

* **baseline**: ``registry.queries.document(uscc)``, the institution read of the staff page, for codes drawn
  at random;
* ``dashboard()`` for the district, and for one grid (the largest);

each the median of ``--runs`` calls, each call in a session of its own (as a request is).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Engine, text
from sqlmodel import Session

from bench.common import registry_file, scratch_database
from supervision.cases import dashboard
from supervision.compliance import service as compliance
from supervision.core.clock import FixedClock
from supervision.db import make_engine
from supervision.registry import queries as registry_queries
from supervision.registry import service as registry
from supervision.registry.io import import_records, read_source

TODAY = dt.date(2026, 11, 30)
NOW = FixedClock.on(TODAY).now()
IMPORTED = FixedClock.on(dt.date(2024, 10, 15)).now()
J = "440106"

CASES_SQL = """
INSERT INTO enforcement_case (reference, uscc, institution_name, grid, source, state, basis, summary,
  finding_ids, opened_by, opened_at, opened_on, decide_by, version, updated_at, closed_at)
SELECT 'BENCH-' || i.id, i.uscc, i.name, i.grid, 'manual',
       (ARRAY['new','assigned','investigating','proposed','notified','decided','rectifying','verifying',
              'closed','dismissed','merged'])[1 + (i.id % 11)],
       ARRAY['LIC-EXPIRED'], 'bench', '{}', 'bench', :now, d, d + 90, 1, :now, NULL
FROM institution i, LATERAL (SELECT CAST(:today AS date) - (i.id * 7919 % 200)::int AS d) o
WHERE i.id % 20 = 0
ORDER BY i.id
"""
DECISIONS_SQL = """
WITH d AS (
  INSERT INTO decision (reference, uscc, institution_name, kind, basis, summary, decided_on, effective_from,
    deadline, officer, recorded_by, recorded_at, case_id)
  SELECT 'BENCH-D-' || c.id, c.uscc, c.institution_name, 'rectification_order', c.basis, 'bench',
         CAST(:today AS date) - 20, CAST(:today AS date) - 20, CAST(:today AS date) + (c.id % 40)::int - 5,
         'bench', 'bench', :now, c.id
  FROM enforcement_case c WHERE c.state = 'rectifying'
  RETURNING id, case_id
)
UPDATE enforcement_case c SET decision_id = d.id FROM d WHERE c.id = d.case_id
"""
COMPLAINTS_SQL = """
INSERT INTO complaint (reference, uscc, institution_name, text, created_at, received_on, triage_due, grid,
  status, reason)
SELECT 'BENCH-C-' || i.id, i.uscc, i.name, '周末上午违规开设学科类培训', :now, r, r + 3, i.grid,
       CASE WHEN i.id % 2 = 0 THEN 'new' ELSE 'rejected' END,
       CASE WHEN i.id % 2 = 0 THEN NULL ELSE 'bench' END
FROM institution i, LATERAL (SELECT CAST(:today AS date) - (i.id % 30)::int AS r) o
WHERE i.id % 33 = 1
"""
CHURN_SQL = """
INSERT INTO audit_log (at, actor, action, entity, entity_key, before, after)
SELECT CAST(:since AS timestamptz) + ((e - 1) * 6 + a.id % 5) * interval '1 month'
         + (a.id % 28) * interval '1 day',
       'bench', 'replace', 'institution', a.entity_key, a.after, a.after
FROM audit_log a CROSS JOIN generate_series(1, :edits) AS e
WHERE a.action = 'create' AND a.id % 4 = 0
  AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.entity_key = a.entity_key AND b.action = 'replace')
"""
INSPECTIONS_SQL = """
INSERT INTO inspection (reference, uscc, institution_name, grid, inspected_on, officers, items, recorded_by,
  recorded_at)
SELECT 'BENCH-I-' || i.id, i.uscc, i.name, i.grid, CAST(:today AS date) - (i.id * 31 % 540)::int,
       ARRAY['a','b'], '[]', 'bench', :now
FROM institution i WHERE i.id % 5 < 2
"""


def prepare(engine: Engine, count: int, edits: int) -> None:
    path = registry_file(count)
    t = time.perf_counter()
    report = import_records(engine, read_source(path), actor="bench", now=IMPORTED)
    print(f"imported {report.imported:,} institutions in {time.perf_counter() - t:.1f} s", flush=True)
    # A history: a tenth of the subject institutions closed, month by month over the last 24 months.
    rng = random.Random(2026)
    closing: dict[int, list[dict[str, Any]]] = {}
    with path.open("rb") as f:
        for line in f:
            doc = orjson.loads(line)
            licence = doc.get("licence")
            subject = licence and "subject" in licence["scope"]["categories"]
            if subject and doc["status"] == "operating" and rng.random() < 0.1:
                closing.setdefault(rng.randrange(24), []).append({**doc, "status": "closed"})
    t = time.perf_counter()
    closed = 0
    for month, docs in sorted(closing.items()):
        index = 2024 * 12 + 11 + month  # 2024-12 onwards
        when = FixedClock.on(dt.date(index // 12, index % 12 + 1, 15)).now()
        with Session(engine) as s:
            valid = [registry.validate(d) for d in docs]
            registry.save_documents(s, valid, actor="bench", now=when)
            s.commit()
        closed += len(docs)
    print(f"closed {closed:,} subject institutions over 24 months in {time.perf_counter() - t:.1f} s")
    if edits:
        # Routine edits (timetables, teachers …) that change neither status nor scope: audit rows of a
        # quarter of the institutions, ``edits`` each over the 24 months, the document as it stood.
        with Session(engine) as s:
            n = s.execute(text(CHURN_SQL), {"since": dt.datetime(2024, 12, 1, tzinfo=dt.UTC), "edits": edits})
            s.commit()
        print(f"routine edits: {n.rowcount:,} audit rows")
    t = time.perf_counter()
    with Session(engine) as s:
        workers = compliance.POOL_WORKERS if count >= compliance.POOL_THRESHOLD else 0
        run = compliance.run_full(s, TODAY, "bench", now=NOW, workers=workers)
        totals = run.counts.get("totals", {})
        s.commit()
    print(f"rule run: {totals} in {time.perf_counter() - t:.1f} s")
    with Session(engine) as s:
        params = {"now": NOW, "today": TODAY}
        for sql in (CASES_SQL, DECISIONS_SQL, COMPLAINTS_SQL, INSPECTIONS_SQL):
            s.execute(text(sql), params)
        s.commit()
        counts = s.execute(
            text(
                "SELECT (SELECT count(*) FROM enforcement_case) AS cases,"
                " (SELECT count(*) FROM complaint) AS complaints,"
                " (SELECT count(*) FROM inspection) AS inspections,"
                " (SELECT count(*) FROM finding WHERE status = 'open') AS findings,"
                " (SELECT count(*) FROM audit_log) AS audit_rows"
            )
        ).one()
    print(
        f"cases {counts.cases:,}, complaints {counts.complaints:,}, inspections {counts.inspections:,},"
        f" open findings {counts.findings:,}, audit rows {counts.audit_rows:,}",
        flush=True,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))


def timed(engine: Engine, runs: int, call: Callable[[Session, int], object]) -> list[float]:
    out = []
    for i in range(runs + 2):
        with Session(engine) as s:
            start = time.perf_counter()
            call(s, i)
            elapsed = time.perf_counter() - start
        if i >= 2:  # two warm-up calls
            out.append(elapsed * 1000)
    return out


def ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"median {statistics.median(values):.1f} ms, p95 {q[18]:.1f} ms, max {max(values):.1f} ms"


def bench(count: int, runs: int, edits: int) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"== {count:,} institutions, commit {commit}, load average {os.getloadavg()[0]:.2f}", flush=True)
    with scratch_database("sv_bench_dashboard") as url:
        engine = make_engine(url)
        prepare(engine, count, edits)
        with Session(engine) as s:
            usccs = [r.uscc for r in s.execute(text("SELECT uscc FROM institution"))]
            grid = s.execute(
                text("SELECT grid FROM institution GROUP BY grid ORDER BY count(*) DESC, grid LIMIT 1")
            ).scalar_one()
            d = dashboard.dashboard(s, today=TODAY, grid=None, jurisdiction=J)
        print(
            f"district: {d.institutions.total:,} institutions {d.institutions.by_category},"
            f" open findings {d.open_findings}, open cases {d.cases.open:,} (overdue {d.cases.overdue:,}),"
            f" rectifications due {d.rectifications_due_total}, complaints {d.complaints},"
            f" coverage {d.inspection_coverage.share:.3f}, subject trend"
            f" {[m.count for m in d.subject_trend][::6]} … {d.subject_trend[-1].count}"
        )
        rng = random.Random(7)
        picks = [rng.choice(usccs) for _ in range(runs + 2)]
        print(f"load average before timing: {os.getloadavg()[0]:.2f}", flush=True)
        base = timed(engine, runs, lambda s, i: registry_queries.document(s, picks[i]))
        print(f"baseline registry.queries.document(uscc), {runs} runs: {ms(base)}", flush=True)
        district = timed(
            engine, runs, lambda s, i: dashboard.dashboard(s, today=TODAY, grid=None, jurisdiction=J)
        )
        print(f"dashboard(district), {runs} runs: {ms(district)}", flush=True)
        one = timed(engine, runs, lambda s, i: dashboard.dashboard(s, today=TODAY, grid=grid, jurisdiction=J))
        print(f"dashboard(grid {grid}), {runs} runs: {ms(one)}", flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, nargs="+", default=[2000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--edits", type=int, default=0, help="routine edits per institution for a quarter of them (0 to 4)"
    )
    args = parser.parse_args()
    for count in args.count:
        bench(count, args.runs, args.edits)


if __name__ == "__main__":
    main()
