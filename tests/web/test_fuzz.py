"""Schemathesis over the whole API (issue 13, item 8): every operation of ``/openapi.json`` with every check,
as each kind of caller, against a live server on a database of its own with some data in it.

Each run uses a fixed seed and a fresh one; both are printed, so a failure can be replayed with the
command the test prints (``st run ... --seed N``) against any server with the same data.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.core.audit import APP_ROLE
from supervision.db import make_engine
from supervision.escrow import keys
from supervision.lists import service as lists
from supervision.settings import Settings
from tests.conftest import TODAY, LiveServer, save_institution, sign_in

pytestmark = pytest.mark.fuzz

FIXED_SEED = 20261130
MAX_EXAMPLES = int(os.environ.get("SUPERVISION_FUZZ_EXAMPLES", "10"))
ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def server(fresh_url: str) -> Iterator[LiveServer]:
    """The service with its own settings (a publication at most a week ahead, the rate limits), as the
    application's role, on a database of its own: the fuzzer's writes reach no other test."""
    eng = make_engine(fresh_url, role=APP_ROLE, statement_timeout_ms=10_000, lock_timeout_ms=2_000)
    srv = LiveServer(eng, Settings(log_level="CRITICAL"))
    srv.start()
    yield srv
    srv.stop()
    eng.dispose()


def seed_data(engine: Engine, now: dt.datetime) -> str:
    """A few institutions, a key for the first (returned) and a published edition of every list."""
    with Session(engine) as s:
        docs = [save_institution(s, now=now) for _ in range(3)]
        save_institution(s, now=now, grid="天河南")
        key, _ = keys.issue(s, uscc=docs[0]["uscc"], now=now, actor="test")
        lists.publish(s, as_of=TODAY - dt.timedelta(days=1), now=now, actor="test", jurisdiction="440106")
        s.commit()
    return key


def credentials(server: LiveServer, engine: Engine) -> dict[str, dict[str, str]]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        out: dict[str, dict[str, str]] = {}
        for name, role, grids in (
            ("officer", "officer", ("石牌",)),
            ("supervisor", "supervisor", ()),
            ("admin", "admin", ()),
        ):
            sign_in(server, engine, c, role, grids)
            out[name] = {"Authorization": c.headers["Authorization"]}
            del c.headers["Authorization"]
    return out


def schemathesis(url: str, headers: dict[str, str], seed: int, *extra: str) -> tuple[int, str, list[str]]:
    cmd = [
        str(ST), "--config-file", str(CONFIG), "--no-color", "run", f"{url}/openapi.json",
        "--checks", "all",
        "--seed", str(seed),
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", "1",
        "--request-timeout", "20",
        "--max-response-time", "15",
        "--suppress-health-check", "all",
        *extra,
    ]  # fmt: skip
    for k, v in headers.items():
        cmd += ["--header", f"{k}: {v}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr, cmd


def test_schemathesis_finds_nothing(server: LiveServer, fresh_engine: Engine) -> None:
    assert ST.exists(), "schemathesis is a dev dependency (st beside the interpreter)"
    key = seed_data(fresh_engine, server.clock.now())
    staff = credentials(server, fresh_engine)
    runs: list[tuple[str, dict[str, str], tuple[str, ...]]] = [
        ("institution", {"X-API-Key": key}, ("--include-path-regex", "^/api/v1/escrow/")),
        *[(name, h, ("--exclude-path", "/api/v1/auth/logout")) for name, h in staff.items()],
        ("anonymous", {}, ()),
    ]
    fresh = random.SystemRandom().randrange(2**31)
    print(f"schemathesis seeds: fixed {FIXED_SEED}, this run {fresh}")
    failed = []
    # The coverage phase (the schema's edges, one by one) does not depend on the seed: once is enough.
    for seed, phases in ((FIXED_SEED, "examples,coverage,fuzzing,stateful"), (fresh, "fuzzing,stateful")):
        for name, headers, extra in runs:
            t0 = time.monotonic()
            code, output, cmd = schemathesis(server.url, headers, seed, "--phases", phases, *extra)
            print(f"--- {name} seed {seed}: exit {code} in {time.monotonic() - t0:.0f} s")
            if code != 0:
                print(output)
                replay = " ".join(
                    a if not a.startswith(("Authorization:", "X-API-Key:")) else "'…'" for a in cmd
                )
                print(f"replay (with a credential of the same kind, on the same data): {replay}")
                failed.append(f"{name} (seed {seed})")
    assert failed == []
