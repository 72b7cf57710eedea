"""Two publishers at once, and a publisher killed halfway: each (kind, date) is published exactly once."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.lists import service as lists
from supervision.settings import ROOT
from tests.conftest import save_institution
from tests.lists.helpers import NOW, recompute

DAY = dt.date(2027, 3, 1)


def seed(engine: Engine, n: int = 3) -> list[str]:
    with Session(engine) as s:
        usccs = [save_institution(s)["uscc"] for _ in range(n)]
        s.commit()
    return usccs


def editions(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, seq, as_of, status, sha256, prev_sha256 FROM list_edition ORDER BY kind, seq")
        ).all()
        return list(rows)


def check_chains(engine: Engine) -> None:
    """Every published edition recomputes from its served JSON, and each chains to the one before."""
    with Session(engine) as s:
        for kind in ("white", "warning", "black"):
            prev = None
            for row in [r for r in editions(engine) if r.kind == kind]:
                doc = json.loads(lists.document_bytes(s, lists.edition(s, kind, row.seq)))
                assert recompute(doc) == doc["sha256"] == row.sha256
                assert doc["prev_sha256"] == (prev["sha256"] if prev else None)
                assert doc["seq"] == (prev["seq"] + 1 if prev else 1)
                prev = doc


def test_two_publishers_at_once_publish_once(fresh_engine: Engine) -> None:
    seed(fresh_engine)
    barrier = threading.Barrier(2)
    results: list[list[lists.Outcome]] = []

    def run() -> None:
        with Session(fresh_engine) as s:
            barrier.wait()
            out = lists.publish(s, as_of=DAY, now=NOW, actor="race", jurisdiction="440106")
            s.commit()
            results.append(out)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(o.status for out in results for o in out)
    assert statuses == ["already_published"] * 3 + ["published"] * 3
    rows = [r for r in editions(fresh_engine) if r.as_of == DAY]
    assert sorted(r.kind for r in rows) == ["black", "warning", "white"]
    assert all(r.status == "published" for r in rows)
    check_chains(fresh_engine)


def _backend_waiting(engine: Engine, app: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = :a"
                    " AND wait_event_type = 'Lock')"
                ),
                {"a": app},
            ).scalar_one()
        )


def _backend_gone(engine: Engine, app: str) -> bool:
    with engine.connect() as conn:
        return not conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = :a)"), {"a": app}
        ).scalar_one()


def publish_command(url: str, as_of: dt.date, app: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "PGAPPNAME": app, "SUPERVISION_LOG_JSON": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "supervision.cli", "lists", "publish", "--as-of", as_of.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_publication_killed_halfway_and_restarted_yields_one(fresh_url: str, fresh_engine: Engine) -> None:
    seed(fresh_engine)
    day = DAY + dt.timedelta(days=7)
    with Session(fresh_engine) as s:  # a previous edition, so the next one records its differences
        lists.publish(s, as_of=day - dt.timedelta(days=1), now=NOW, actor="test", jurisdiction="440106")
        s.commit()
    seed(fresh_engine, 2)
    before = editions(fresh_engine)

    # Hold the table the publication writes last, so it stops halfway: claimed, entries written, not done.
    blocker = fresh_engine.connect()
    tx = blocker.begin()
    blocker.execute(text("LOCK TABLE list_change IN ACCESS EXCLUSIVE MODE"))
    proc = publish_command(fresh_url, day, "killed-publisher")
    try:
        deadline = time.monotonic() + 60
        while not _backend_waiting(fresh_engine, "killed-publisher"):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the publication never reached the locked table"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        tx.rollback()
        blocker.close()
    deadline = time.monotonic() + 30
    while not _backend_gone(fresh_engine, "killed-publisher"):
        assert time.monotonic() < deadline, "the killed publisher's transaction was never ended"
        time.sleep(0.05)
    assert editions(fresh_engine) == before, "a killed publication left something behind"

    again = publish_command(fresh_url, day, "second-publisher")
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out.decode()
    rerun = publish_command(fresh_url, day, "third-publisher")
    out3, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and b"already published" in out3, out3.decode()
    rows = [r for r in editions(fresh_engine) if r.as_of == day]
    assert sorted(r.kind for r in rows) == ["black", "warning", "white"]
    check_chains(fresh_engine)
