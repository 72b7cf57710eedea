"""A full rule run over the demo registry, against reading the same rows without evaluating them.

    python -m bench.rule_run --count 500000 [--workers 2]

For each count: a scratch database is created and the demo registry imported (not timed here: see
``bench.import_registry``). Then, on the same server in the same run:

- **baseline**: the same documents and statements read from PostgreSQL, range by range, exactly as the run
  reads them (same SQL, same worker processes, same batch size), parsed, and each touched in Python;
- **full run 1**: ``runs.run_full`` with an empty finding table (every finding is new);
- **full run 2**: the same date again (nothing changes; the steady state of a re-run);
- **full run 3**: the next day (findings whose message names the date are rewritten, as every night);
- **re-evaluation** of single institutions (``reevaluate_institution``, each in its own transaction);
- **self-check** ``POST /api/v1/rules/evaluate`` of demo documents over HTTP against a real server (the
  per-address rate limit lifted for the measurement; the counter is still written).

Peak memory is measured per run: this process's peak resident set from the start of the run (VmHWM, reset
before each run), and each worker's own peak (VmHWM, which a worker reports with each range).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import multiprocessing
import os
import random
import socket
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench.common import registry_file, scratch_database
from supervision.compliance import evaluation as ev
from supervision.compliance import facts, queries, runs, selfcheck
from supervision.compliance import service as compliance
from supervision.core.clock import FixedClock
from supervision.db import make_engine
from supervision.registry.io import import_records, read_source

AS_OF = dt.date(2026, 11, 30)
NOW = FixedClock.on(AS_OF).now()

_conn: psycopg.Connection[Any] | None = None


def _init(dsn: str) -> None:
    global _conn
    _conn = psycopg.connect(dsn, autocommit=True, options="-c timezone=UTC -c jit=off")
    gc.freeze()
    gc.disable()


def _read(r: tuple[int, int, int]) -> int:
    """Read one range as the run does and touch every document: the work a run cannot avoid."""
    assert _conn is not None
    touched = 0
    for _iid, doc, statements in facts.read_range(_conn, r[0], r[1]):
        touched += len(doc["courses"]) + len(statements) + 1
    gc.collect()
    return touched


def baseline(dsn: str, ids: list[int], workers: int) -> float:
    start = time.perf_counter()
    todo = ev.ranges(ids, runs.BATCH)
    if workers == 0:
        _init(dsn)
        for r in todo:
            _read(r)
        gc.enable()
        gc.unfreeze()
        assert _conn is not None
        _conn.close()
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(dsn,)) as pool:
            list(pool.map(_read, todo))
    return time.perf_counter() - start


def reset_peak() -> None:
    """Start this process's peak-memory count afresh (Linux: clear_refs 5 resets VmHWM)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def full_run(engine: Any, as_of: dt.date, workers: int) -> tuple[float, Any, float]:
    """(seconds, run, peak MiB of this process during the run)."""
    gc.collect()
    reset_peak()
    start = time.perf_counter()
    with Session(engine, expire_on_commit=False) as s:
        run = runs.run_full(s, as_of, "bench", now=NOW, workers=workers)
        s.commit()
    return time.perf_counter() - start, run, ev.peak_rss_mib()


def reevaluations(engine: Any, ids: list[int], n: int) -> list[float]:
    rng = random.Random(7)
    out = []
    for iid in rng.sample(ids, min(n, len(ids))):
        with Session(engine) as s:
            start = time.perf_counter()
            compliance.reevaluate_institution(s, iid, AS_OF + dt.timedelta(days=1), "bench", now=NOW)
            s.commit()
            out.append(time.perf_counter() - start)
    return out


def self_checks(engine: Any, docs: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """(over HTTP, in process) seconds per self-check of each document."""
    import uvicorn

    from supervision.main import create_app
    from supervision.settings import Settings
    from supervision.web.api import rules as rules_api

    rules_api.EVALUATE_LIMIT = 10**9  # measure the work, not the limiter's refusals
    app = create_app(engine=engine, clock=FixedClock.on(AS_OF), settings=Settings(log_level="WARNING"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    http_times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for doc in docs[:20]:  # warm-up: connection, caches
            client.post("/api/v1/rules/evaluate", json={**doc, "statements": []})
        for doc in docs:
            body = orjson.dumps({**doc, "statements": []})
            start = time.perf_counter()
            r = client.post(
                "/api/v1/rules/evaluate", content=body, headers={"content-type": "application/json"}
            )
            http_times.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text
    server.should_exit = True
    thread.join(10)
    local = []
    for doc in docs:
        start = time.perf_counter()
        selfcheck.evaluate_document({**doc, "statements": []}, AS_OF)
        local.append(time.perf_counter() - start)
    return http_times, local


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    median = statistics.median(values)
    return f"median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"


def describe(label: str, seconds: float, run: Any, n: int, peak: float) -> None:
    t = run.counts["totals"]
    timings = run.counts.get("timings_ms", {})
    print(
        f"{label}: {seconds:.2f} s ({n / seconds:,.0f} inst/s)  of which, in this process, waiting for the"
        f" findings lock {timings.get('lock', 0) / 1000:.1f} s and writing ranges"
        f" {timings.get('write', 0) / 1000:.1f} s (while the workers evaluate the next; the risk tiers"
        f" {timings.get('tiers', 0) / 1000:.1f} s of it);"
        f" findings {t['produced']:,}: opened {t['opened']:,}, refreshed {t['refreshed']:,},"
        f" unchanged {t['unchanged']:,}, resolved {t['resolved']:,}"
    )
    workers = run.counts.get("worker_peak_mib")
    print(
        f"  peak memory: main process {peak:.0f} MiB"
        + (f", each of {run.counts['workers']} workers at most {workers} MiB" if workers else "")
    )


def _import(url: str, path: str) -> None:
    """Load the registry (in a process of its own: an import of 500,000 documents leaves gigabytes resident,
    which would otherwise count in the runs' peak memory)."""
    engine = make_engine(url)
    report = import_records(engine, read_source(Path(path)), actor="bench", now=NOW)
    assert not report.rejected and report.imported > 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def bench(count: int, workers: int) -> None:
    path = registry_file(count)
    with scratch_database(f"sv_bench_rules_{count}") as url:
        start = time.perf_counter()
        loader = multiprocessing.get_context("spawn").Process(target=_import, args=(url, str(path)))
        loader.start()
        loader.join()
        assert loader.exitcode == 0, "the import failed"
        imported = time.perf_counter() - start
        engine = make_engine(url)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with Session(engine) as s:
            ids = queries.institution_ids(s)
        print(f"institutions: {count:,} (imported in {imported:.0f} s, not in the figures)")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        base = baseline(dsn, ids, workers)
        base_1 = baseline(dsn, ids, 0) if count <= 100_000 else None
        where = f"{workers} worker processes" if workers else "this process"
        print(
            f"baseline, read + parse + touch, {where}: {base:.2f} s ({count / base:,.0f} inst/s)"
            + (f"; in one process: {base_1:.2f} s" if base_1 is not None and workers else "")
        )
        first_s, first, peak = full_run(engine, AS_OF, workers)
        describe("full run 1 (all findings new)", first_s, first, count, peak)
        again_s, again, peak = full_run(engine, AS_OF, workers)
        describe("full run 2 (same day again)", again_s, again, count, peak)
        next_s, nxt, peak = full_run(engine, AS_OF + dt.timedelta(days=1), workers)
        describe("full run 3 (next day)", next_s, nxt, count, peak)
        print(
            f"ratio full run / baseline: run 1 {first_s / base:.2f}x, run 2 {again_s / base:.2f}x,"
            f" run 3 {next_s / base:.2f}x"
        )
        single = reevaluations(engine, ids, 200)
        print(f"re-evaluate one institution (200, own transaction each, with commit): {ms(single)}")
        with Session(engine) as s:
            from supervision.registry import queries as registry_queries

            sample = random.Random(11).sample(ids, 200)
            docs = list(registry_queries.documents_by_id(s, sample).values())
        over_http, in_process = self_checks(engine, docs)
        print(f"self-check POST /api/v1/rules/evaluate (200 demo documents, over HTTP): {ms(over_http)}")
        print(f"  of which validation + evaluation in process: {ms(in_process)}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--workers", type=int, default=None, help="default: as the service picks (2 from 20,000, else 0)"
    )
    args = parser.parse_args()
    for count in args.count:
        pooled = runs.POOL_WORKERS if count >= runs.POOL_THRESHOLD else 0
        bench(count, pooled if args.workers is None else args.workers)


if __name__ == "__main__":
    main()
