"""One 100,000-line CSV escrow statement, validated, stored, posted and reconciled, against a raw COPY.

    python -m bench.escrow_statement [--lines 100000] [--runs 3]

End to end: a real server process (uvicorn, as `supervision serve` runs it) on a scratch database; the CSV is
uploaded over HTTP to ``POST /api/v1/escrow/statements/csv`` and the clock stops when the answer arrives
(the transaction has committed by then). Each run uses a fresh institution, so every run does the whole work.

Baselines, measured in the same run against the same database server:

* **raw COPY** — read the same CSV with the csv module and COPY its rows, committed, into a table shaped like
  ``escrow_statement_line`` (its columns, checks and primary key): no validation, no ledger, no HTTP.
* **server-side COPY** (for reference) — hand the file's bytes to ``COPY … FROM STDIN (FORMAT csv)`` into an
  unindexed table of the same columns: the database alone, no Python on the rows.

An in-process breakdown (parse and validate, then the service's acceptance) is printed too.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench.common import DATA, scratch_database
from supervision.core.clock import FixedClock
from supervision.db import make_engine
from supervision.escrow import keys, service, validation
from supervision.registry import service as registry
from supervision.settings import ROOT

TODAY = dt.date(2026, 11, 30)
PERIOD = "2026-10"


def statement_csv(n: int, seed: int = 2026) -> Path:
    """A realistic month of one large institution: receipts (some package sales over the prepaid cap),
    releases and refunds; summary in a leading comment block. Generated once and cached."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"statement-{n}-{seed}.csv"
    if path.exists():
        return path
    rng = random.Random(seed)
    rows = []
    totals = {"receipt": 0, "release": 0, "refund": 0}
    for i in range(n):
        kind = rng.choices(("receipt", "release", "refund"), (55, 40, 5))[0]
        day = f"{PERIOD}-{rng.randint(1, 31):02d}"
        if kind == "receipt":
            lessons = rng.choice((10, 12, 20, 24, 30, 40, 48, 60))
            if rng.random() < 0.001:
                lessons = 80  # a package over the 60-lesson cap
            months = min(3, 1 + lessons // 20)
            amount = lessons * rng.choice((6000, 7000, 8000)) // 10
            rows.append(f"{day},receipt,{amount},R{i:07d},K{lessons},{lessons},{months}")
        else:
            amount = rng.randint(1000, 30000) if kind == "release" else rng.randint(1000, 20000)
            rows.append(f"{day},{kind},{amount},{'X' if kind == 'release' else 'F'}{i:07d},,,")
        totals[kind] += amount
    opening = 2_000_000_000
    closing = opening + totals["receipt"] - totals["release"] - totals["refund"]
    head = [
        f"# period: {PERIOD}",
        "# mode: bank_custody",
        f"# opening_balance_fen: {opening}",
        f"# receipts_fen: {totals['receipt']}",
        f"# released_fen: {totals['release']}",
        f"# refunds_fen: {totals['refund']}",
        f"# closing_balance_fen: {closing}",
        f"# bank_reported_balance_fen: {closing}",
        "# reserve_balance_fen: 0",
        f"# unearned_liability_fen: {closing}",
        "date,type,amount_fen,ref,package_code,lessons,months",
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(head + rows) + "\n", encoding="utf-8")
    tmp.rename(path)
    return path


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def new_institution(url: str) -> tuple[str, str]:
    """A registered institution (the formats example with a fresh code) and its key."""
    from tests.conftest import example_document

    engine = make_engine(url)
    now = FixedClock.on(TODAY).now()
    with Session(engine) as s:
        doc = example_document()
        registry.save_one(s, doc, actor="bench", now=now, mode="create")
        key, _ = keys.issue(s, uscc=doc["uscc"], now=now, actor="bench")
        s.commit()
    engine.dispose()
    return doc["uscc"], key


def raw_copy(url: str, data: bytes) -> float:
    """The same lines read with the csv module and COPYed, committed, into a table shaped like the lines
    table (its columns, checks and primary key; not the foreign key, there being no statement); seconds."""
    with psycopg.connect(dsn(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_line (LIKE escrow_statement_line INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        cur.execute("TRUNCATE bench_line")
        conn.commit()
        start = time.perf_counter()
        text = data.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text[text.index("date,type") :], newline=""))
        next(reader)
        with cur.copy(
            "COPY bench_line (statement_id, seq, date, type, amount_fen, ref, package_code, lessons, months)"
            " FROM STDIN"
        ) as cp:
            for seq, r in enumerate(reader, 1):
                cp.write_row((1, seq, r[0], r[1], r[2], r[3], r[4] or None, r[5] or None, r[6] or None))
        conn.commit()
        return time.perf_counter() - start


def server_copy(url: str, data: bytes) -> float:
    """The file's bytes straight into COPY (FORMAT csv), an unindexed table: the database alone."""
    body = data[data.index(b"date,type") :]
    with psycopg.connect(dsn(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (date date, type text, amount_fen bigint, ref text,"
            " package_code text, lessons int, months smallint)"
        )
        cur.execute("TRUNCATE bench_raw")
        conn.commit()
        start = time.perf_counter()
        with cur.copy("COPY bench_raw FROM STDIN (FORMAT csv, HEADER true)") as cp:
            cp.write(body)
        conn.commit()
        return time.perf_counter() - start


class ServerProcess:
    def __init__(self, url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {
            **os.environ,
            "SUPERVISION_DATABASE_URL": url,
            "SUPERVISION_TODAY": TODAY.isoformat(),
            "SUPERVISION_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "supervision.main:app_factory",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)


def end_to_end(server: ServerProcess, url: str, data: bytes, multipart: bool = False) -> tuple[float, dict]:
    """Upload the CSV as a bare ``text/csv`` body (or as a multipart form, as the portal does)."""
    _, key = new_institution(url)
    headers = {"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        start = time.perf_counter()
        if multipart:
            r = client.post(
                "/api/v1/escrow/statements/csv",
                files={"file": ("statement.csv", data, "text/csv")},
                headers=headers,
            )
        else:
            r = client.post(
                "/api/v1/escrow/statements/csv", content=data, headers={**headers, "Content-Type": "text/csv"}
            )
        elapsed = time.perf_counter() - start
    if r.status_code != 201:
        raise RuntimeError(f"{r.status_code}: {r.text[:2000]}")
    return elapsed, r.json()


def in_process(url: str, data: bytes) -> dict[str, float]:
    """The same work without HTTP, split: parse and validate; accept (history, reconcile, store, post, and the
    compliance area's re-evaluation of the institution, timed apart); commit."""
    from supervision.compliance import service as compliance

    _, key = new_institution(url)
    engine = make_engine(url)
    now = FixedClock.on(TODAY).now()
    out: dict[str, float] = {}
    original = compliance.reevaluate_institution

    def timed_reevaluation(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            out["  of which the compliance re-evaluation"] = time.perf_counter() - start

    compliance.reevaluate_institution = timed_reevaluation  # type: ignore[assignment]
    try:
        with Session(engine) as session:
            holder = keys.holder_for_key(session, key, now)
            t0 = time.perf_counter()
            parsed = validation.parse_csv(data, {}, TODAY)
            t1 = time.perf_counter()
            service.submit(
                session, holder=holder, parsed=parsed, idempotency_key="bench", now=now, as_of=TODAY,
                jurisdiction="440106",
            )  # fmt: skip
            t2 = time.perf_counter()
            session.commit()
            t3 = time.perf_counter()
    finally:
        compliance.reevaluate_institution = original  # type: ignore[assignment]
        engine.dispose()
    return {
        "parse and validate": t1 - t0,
        "accept (history, reconcile, store, post, re-evaluate)": t2 - t1,
        **out,
        "commit (deferred ledger checks)": t3 - t2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = statement_csv(args.lines)
    data = path.read_bytes()
    print(f"statement: {path.name}, {args.lines} lines, {len(data) / 1e6:.1f} MB")
    with scratch_database(f"sv_bench_escrow_{os.getpid()}") as url:
        server = ServerProcess(url)
        try:
            end_to_end(server, url, data)  # warm-up: imports, rule engine load, connection pool
            e2e, forms, raws, servers, answers = [], [], [], [], []
            for _ in range(args.runs):
                elapsed, answer = end_to_end(server, url, data)
                e2e.append(elapsed)
                answers.append(answer)
                forms.append(end_to_end(server, url, data, multipart=True)[0])
                raws.append(raw_copy(url, data))
                servers.append(server_copy(url, data))
        finally:
            server.stop()
        in_process(url, data)  # warm-up of this process
        split = in_process(url, data)
    answer = answers[-1]
    assert answer["line_count"] == args.lines and answer["reconciliation"]["ok"]
    best, raw, srv = min(e2e), min(raws), min(servers)
    runs = ", ".join(f"{x:.3f}" for x in e2e)
    print(f"end to end over HTTP (best of {args.runs}): {best:.3f} s   all: {runs}")
    print(f"  median {statistics.median(e2e):.3f} s; findings in the answer: {len(answer['findings'])}")
    print(f"  the same as a multipart form upload (as the portal sends it): best {min(forms):.3f} s")
    print(f"raw COPY (csv module rows into a table shaped like the lines table): {raw:.3f} s")
    print(f"server-side COPY of the file's bytes: {srv:.3f} s")
    print(f"ratio end to end / raw COPY: {best / raw:.2f}x   (/ server-side COPY: {best / srv:.2f}x)")
    for step, seconds in split.items():
        print(f"  in process: {step}: {seconds:.3f} s")


if __name__ == "__main__":
    main()
