"""The scheduler: one leader, one edition per kind per scheduled date, missed runs caught up once.

Scheduler processes run on a simulated clock (a shared start, epoch and speed), so a week passes in seconds
and every process agrees on the time.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from scheduler.jobs import JobSpec, as_of, job_table, publish_lists
from scheduler.runner import last_fire
from supervision.core.clock import SHANGHAI
from supervision.settings import ROOT, Settings
from tests.conftest import save_institution
from tests.lists.test_races import check_chains, editions

CST = dt.timezone(dt.timedelta(hours=8))
STARTUP_SECONDS = 15
"""Real seconds before the simulated start of the slower (10,000x) simulation: both scheduler processes must
be up and polling by then (a busy machine takes several seconds to import the application)."""


def spec(cron: str) -> JobSpec:
    return JobSpec("publish-lists", cron, publish_lists, "test")


def test_default_schedule_is_monday_nine_in_shanghai() -> None:
    table = {j.id: j for j in job_table(Settings(), dt.date(2026, 11, 30))}
    assert set(table) == {"publish-lists", "rule-run", "follow-up", "statement-deadline", "purge-sessions"}
    monday_ten = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
    grace = dt.timedelta(hours=12)
    assert last_fire(table["publish-lists"], monday_ten, grace) == dt.datetime(
        2026, 11, 30, 9, tzinfo=SHANGHAI
    )
    assert last_fire(table["publish-lists"], monday_ten - dt.timedelta(hours=2), grace) is None
    # the statement deadline is the 10th: the check runs on the 11th
    eleventh = dt.datetime(2026, 12, 11, 1, 0, tzinfo=SHANGHAI)
    assert last_fire(table["statement-deadline"], eleventh, grace) == dt.datetime(
        2026, 12, 11, 0, 30, tzinfo=SHANGHAI
    )


def test_missed_runs_coalesce_to_the_latest_within_grace() -> None:
    daily = spec("0 9 * * *")
    now = dt.datetime(2026, 12, 3, 20, 0, tzinfo=SHANGHAI)
    assert last_fire(daily, now, dt.timedelta(hours=12)) == dt.datetime(2026, 12, 3, 9, tzinfo=SHANGHAI)
    assert last_fire(daily, now, dt.timedelta(hours=10)) is None
    assert as_of(dt.datetime(2026, 12, 6, 17, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 7)


def start(
    url: str,
    tmp: Path,
    name: str,
    *,
    sim_from: str,
    until: str,
    speed: float,
    epoch: float,
    cron: str | None = None,
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_LOG_JSON": "false"}
    env.pop("SUPERVISION_TODAY", None)
    if cron:
        env["SUPERVISION_PUBLISH_CRON"] = cron
    log = (tmp / f"{name}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scheduler",
            "--poll",
            "0.1",
            "--simulate-from",
            sim_from,
            "--simulate-until",
            until,
            "--speed",
            str(speed),
            "--epoch",
            str(epoch),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def published_dates(engine: Engine) -> Counter[tuple[str, dt.date]]:
    return Counter((r.kind, r.as_of) for r in editions(engine) if r.status == "published")


def runs(engine: Engine, job: str) -> list[Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT fire_time, status, attempts, runner FROM job_run WHERE job_id = :j ORDER BY fire_time"
            ),
            {"j": job},
        ).all()
        return list(rows)


@pytest.fixture(scope="module")
def seeded(fresh_engine: Engine) -> Engine:
    with Session(fresh_engine) as s:
        for _ in range(4):
            save_institution(s)
        s.commit()
    return fresh_engine


def test_two_schedulers_over_a_simulated_week_publish_once_per_date(
    fresh_url: str, seeded: Engine, tmp_path: Path
) -> None:
    """Default schedule (Monday 09:00), two processes started together, Sunday to Tuesday of the next week."""
    epoch = time.time() + 6  # at 60,000x, 6 s before the start stays clear of the Monday before
    args = dict(
        sim_from="2026-11-29T00:00:00+08:00", until="2026-12-08T12:00:00+08:00", speed=60000.0, epoch=epoch
    )
    procs = [start(fresh_url, tmp_path, f"s{i}", **args) for i in range(2)]  # type: ignore[arg-type]
    for p in procs:
        assert p.wait(120) == 0, (tmp_path / "s0.log").read_text() + (tmp_path / "s1.log").read_text()
    counts = published_dates(seeded)
    mondays = {dt.date(2026, 11, 30), dt.date(2026, 12, 7)}
    assert {d for _, d in counts} == mondays
    assert all(n == 1 for n in counts.values())
    assert len(counts) == 6
    pub = runs(seeded, "publish-lists")
    assert [r.fire_time.astimezone(CST).date() for r in pub] == sorted(mondays)
    assert all(r.status == "done" and r.attempts == 1 for r in pub)
    assert len({r.runner for r in pub}) == 1, "jobs ran in more than one process"
    check_chains(seeded)


def _waiting_on_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name <> 'scheduler'"
                    " AND wait_event_type = 'Lock' AND query ILIKE '%list_entry%')"
                )
            ).scalar_one()
        )


def test_leader_killed_during_a_publication_the_other_takes_over(
    fresh_url: str, seeded: Engine, tmp_path: Path
) -> None:
    """Daily publication; the leader is killed while a publication is halfway; the follower takes over and
    catches the interrupted run up: still exactly one edition per kind per date."""
    before = published_dates(seeded)
    epoch = time.time() + STARTUP_SECONDS
    args: dict[str, Any] = dict(
        sim_from="2026-12-10T00:00:00+08:00", until="2026-12-13T12:00:00+08:00", speed=10000.0, epoch=epoch
    )
    procs = {
        p.pid: p for p in (start(fresh_url, tmp_path, f"f{i}", cron="0 9 * * *", **args) for i in range(2))
    }
    first = dt.datetime(2026, 12, 10, 9, tzinfo=CST)
    deadline = time.monotonic() + 60
    while not any(r.fire_time == first and r.status == "done" for r in runs(seeded, "publish-lists")):
        assert time.monotonic() < deadline, "the first publication never happened"
        time.sleep(0.05)
    leader_pid = int(
        next(r.runner for r in runs(seeded, "publish-lists") if r.fire_time == first).split(":")[1]
    )

    blocker = seeded.connect()
    tx = blocker.begin()
    # Hold the entries table: the next publication stops after its claim, before writing its entries.
    blocker.execute(text("LOCK TABLE list_entry IN ACCESS EXCLUSIVE MODE"))
    try:
        deadline = time.monotonic() + 60
        while not _waiting_on_lock(seeded):
            assert time.monotonic() < deadline, "the second publication never started"
            time.sleep(0.02)
        procs[leader_pid].send_signal(signal.SIGKILL)
        procs[leader_pid].wait(10)
    finally:
        tx.rollback()
        blocker.close()
    survivor = next(p for pid, p in procs.items() if pid != leader_pid)
    assert survivor.wait(120) == 0, "".join((tmp_path / f"f{i}.log").read_text() for i in range(2))

    new = published_dates(seeded) - before
    # Before the epoch the simulated clock reads earlier: a run of the 8th or 9th may be caught up at start.
    dates = {d for _, d in new}
    assert (
        {dt.date(2026, 12, d) for d in (10, 11, 12, 13)}
        <= dates
        <= {dt.date(2026, 12, d) for d in range(8, 14)}
    )
    assert sorted(new) == sorted((k, d) for k in ("black", "warning", "white") for d in dates)
    assert all(n == 1 for n in published_dates(seeded).values())
    second = next(r for r in runs(seeded, "publish-lists") if r.fire_time == first + dt.timedelta(days=1))
    assert second.status == "done" and second.attempts == 2
    assert int(second.runner.split(":")[1]) == survivor.pid
    check_chains(seeded)
