"""The parents' pages under load on the 100k registry, beside a static file served by the same server.

    python -m bench.public_load [--count 100000] [--duration 20] [--connections 32] [--workers 2]

Needs ``wrk`` (Debian: ``apt-get install -y wrk``); nothing is installed by this script.

A scratch database gets the demo registry of ``--count`` institutions (``supervision.demo.registry``,
imported through ``registry.io.import_records``), the demo decisions, and one published edition of each list.
A real server (``supervision serve --workers N``, as production runs it) answers on loopback; ``wrk``
requests, in turn and in the same run:

* ``static``: ``/static/site.css`` — the baseline: the same server, the same middleware, no work of ours;
* ``livez``: ``/livez`` — for reference, the cheapest route of the application (no database, no template):
  what the framework alone costs on this machine;
* ``institution``: ``/institutions/{uscc}`` for credit codes drawn at random from the whole registry;
* ``institution-json``: ``/api/v1/public/institutions/{uscc}``, the same;
* ``search``: ``/?q=…`` with name fragments, credit codes and licence numbers drawn at random.

Each target is warmed up for a few seconds first. Requests per second and the 50th and 99th percentile
latencies come from wrk's own report (``--latency``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.common import registry_file, scratch_database
from supervision.core.clock import FixedClock
from supervision.db import make_engine, session_scope
from supervision.demo.decisions import record_demo_decisions
from supervision.lists import service as lists
from supervision.registry.io import import_records, read_source
from supervision.settings import ROOT

TODAY = dt.date(2026, 11, 30)
OUT = ROOT / "bench" / "out"

LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
math.randomseed(%d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def to_ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", value)
    assert m, value
    n = float(m.group(1))
    return {"us": n / 1000, "ms": n, "s": n * 1000}[m.group(2)]


def wrk(url: str, script: Path | None, seconds: int, connections: int, threads: int) -> dict[str, Any]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def prepare(url: str, count: int) -> dict[str, list[str]]:
    engine = make_engine(url)
    now = FixedClock.on(TODAY).now()
    t = time.perf_counter()
    report = import_records(engine, read_source(registry_file(count)), actor="bench", now=now)
    print(f"imported {report.imported:,} institutions in {time.perf_counter() - t:.1f} s", flush=True)
    record_demo_decisions(engine, now)
    t = time.perf_counter()
    with session_scope(engine) as s:
        outcomes = lists.publish(s, as_of=TODAY, now=now, actor="bench", jurisdiction="440106")
    print(
        "published "
        + ", ".join(f"{o.kind} {o.entries:,}" for o in outcomes)
        + f" in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # settle the import before measuring: no autovacuum or checkpoint in the middle of a run
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
        rows = conn.execute(
            text(
                "SELECT i.uscc, i.name, l.number FROM institution i"
                " LEFT JOIN licence l ON l.institution_id = i.id"
            )
        ).all()
    engine.dispose()
    rng = random.Random(2026)
    usccs = [r.uscc for r in rows]
    queries: list[str] = []
    for r in rng.sample(rows, 5000):
        kind = rng.random()
        if kind < 0.6:  # a fragment of a name, as parents type it
            name = r.name.removeprefix("广州市天河区").removeprefix("广州天河").removeprefix("广州市")
            start = rng.randrange(max(1, len(name) - 3))
            queries.append(name[start : start + rng.choice((2, 3, 4))])
        elif kind < 0.8 or not r.number:
            queries.append(r.uscc)
        else:
            queries.append(r.number)
    return {
        "institution": [f"/institutions/{u}" for u in usccs],
        "institution-json": [f"/api/v1/public/institutions/{u}" for u in usccs],
        "search": ["/?" + str(httpx.QueryParams({"q": q})) for q in queries],
    }


def serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SUPERVISION_DATABASE_URL": url,
        "SUPERVISION_TODAY": TODAY.isoformat(),
        "SUPERVISION_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "supervision.cli", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")
    results: dict[str, Any] = {}
    with scratch_database("sv_bench_public") as url, tempfile.TemporaryDirectory() as tmp:
        paths = prepare(url, args.count)
        scripts: dict[str, Path | None] = {"static": None, "livez": None}
        fixed = {"static": "/static/site.css", "livez": "/livez"}
        for name, items in paths.items():
            (Path(tmp) / f"{name}.txt").write_text("\n".join(items) + "\n", encoding="utf-8")
            script = Path(tmp) / f"{name}.lua"
            script.write_text(LUA % (Path(tmp) / f"{name}.txt", 2026), encoding="utf-8")
            scripts[name] = script
        port = free_port()
        server = serve(url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            for name, script in scripts.items():
                target = base + fixed[name] if script is None else base
                wrk(target, script, args.warmup, args.connections, args.threads)
                load = os.getloadavg()[0]
                results[name] = wrk(target, script, args.duration, args.connections, args.threads)
                r = results[name]
                r["loadavg_1min_before"] = load
                print(
                    f"{name:17} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:7.2f} ms"
                    f"  ({r['requests']:,} requests, non-2xx {r['non_2xx']}; load before {load:.2f})",
                    flush=True,
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
    static = results["static"]["rps"]
    inst = results["institution"]
    verdict = {
        "institution_rps_at_least_1000": inst["rps"] >= 1000,
        "institution_p99_at_most_50ms": inst["p99_ms"] <= 50,
        "institution_at_least_quarter_of_static": inst["rps"] >= static / 4,
        "institution_over_static": round(inst["rps"] / static, 3),
    }
    print(json.dumps(verdict))
    OUT.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    record = {
        "args": vars(args),
        "cpus": os.cpu_count(),
        "loadavg_after": load,
        "results": results,
        "verdict": verdict,
    }
    (OUT / "public_load.json").write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
