"""The job table (定时任务表) and the jobs: a few lines each, calling the same services the console calls.

Every job receives the scheduled fire time, never the wall clock, and computes its business date (``as_of``)
from it in Asia/Shanghai. A job claims its ``(job, fire time)`` row in ``job_run`` first and marks it done
after; work that must never happen twice claims its own unique row as well (a publication claims
``(kind, as_of)``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from supervision.core import jobs as job_runs
from supervision.core.clock import SHANGHAI, Clock
from supervision.core.rulebook import context
from supervision.db import session_scope
from supervision.settings import Settings

log = logging.getLogger("scheduler.jobs")

ACTOR = "system:scheduler"


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    clock: Clock
    settings: Settings
    runner: str = f"{socket.gethostname()}:{os.getpid()}"


JobFunc = Callable[[JobContext, dt.datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    id: str
    cron: str
    """Crontab fields (minute hour day month weekday), in Asia/Shanghai; weekdays by name."""
    func: JobFunc
    description: str


def as_of(fire_time: dt.datetime) -> dt.date:
    """The business date a run scheduled at ``fire_time`` is for."""
    return fire_time.astimezone(SHANGHAI).date()


# ------------------------------------------------------------------------------------------ the jobs


def publish_lists(ctx: JobContext, fire_time: dt.datetime) -> dict[str, Any]:
    """Publish the black, warning and white lists as of the scheduled date."""
    from supervision.lists import service as lists

    with session_scope(ctx.engine) as session:
        outcomes = lists.publish(
            session,
            as_of=as_of(fire_time),
            now=ctx.clock.now(),
            actor=ACTOR,
            jurisdiction=ctx.settings.jurisdiction,
        )
    return {"editions": [o.as_dict() for o in outcomes]}


def rule_run(ctx: JobContext, fire_time: dt.datetime) -> dict[str, Any]:
    """The nightly full rule run as of the scheduled date; then a case for each institution turned red."""
    from supervision.cases import casework
    from supervision.compliance import runs as compliance

    with session_scope(ctx.engine) as session:
        run = compliance.run_full(
            session,
            as_of(fire_time),
            ACTOR,
            now=ctx.clock.now(),
            jurisdiction=ctx.settings.jurisdiction,
        )
        answer: dict[str, Any] = {
            "as_of": as_of(fire_time).isoformat(),
            "run": run.id,
            "institutions": run.institutions,
        }
    with session_scope(ctx.engine) as session:
        answer["risk_cases"] = casework.open_risk_cases(
            session, now=ctx.clock.now(), jurisdiction=ctx.settings.jurisdiction
        )
    return answer


def follow_up(ctx: JobContext, fire_time: dt.datetime) -> dict[str, Any]:
    """Rectification follow-up (整改复查): the day after an order's deadline, re-evaluate the institution and
    move its case to ``verifying`` with the result. A case already moved is not moved again."""
    from supervision.cases import casework

    with session_scope(ctx.engine) as session:
        moved = casework.follow_up(
            session, as_of(fire_time), now=ctx.clock.now(), jurisdiction=ctx.settings.jurisdiction
        )
    # Tiers turned red by the day's re-evaluations (a statement accepted, a registry edit) get their case.
    with session_scope(ctx.engine) as session:
        cases = casework.open_risk_cases(session, now=ctx.clock.now(), jurisdiction=ctx.settings.jurisdiction)
    return {"as_of": as_of(fire_time).isoformat(), "moved": moved, "risk_cases": cases}


def statement_deadline(ctx: JobContext, fire_time: dt.datetime) -> dict[str, Any]:
    """The day after the statement deadline: the rule run reports FEE-STATEMENT-MISSING for late ones."""
    return rule_run(ctx, fire_time)


def purge_sessions(ctx: JobContext, fire_time: dt.datetime) -> dict[str, Any]:
    """Delete ended staff and portal sessions (revoked, past their end, idle) and sign-in counts no longer
    in force. A session is refused as soon as it ends; this only keeps the tables small."""
    from supervision.accounts import service as accounts
    from supervision.escrow import keys

    now = ctx.clock.now()
    idle = dt.timedelta(minutes=ctx.settings.session_idle_minutes)
    with session_scope(ctx.engine) as session:
        purged = accounts.purge_ended(session, now=now, settings=ctx.settings)
        purged["portal_sessions"] = keys.purge_ended_sessions(session, now=now, idle=idle)
    return purged


def statement_due_day(settings: Settings, today: dt.date) -> int:
    """``statement.due_day`` in force for the jurisdiction (10 unless a level overrides it)."""
    try:
        value = context(settings.jurisdiction, today).values.get("statement.due_day", 10)
        return int(value)
    except Exception:  # the rule data is checked by its own tests; the schedule falls back to the default
        log.exception("cannot read statement.due_day; using 10")
        return 10


def job_table(settings: Settings, today: dt.date) -> list[JobSpec]:
    due = statement_due_day(settings, today)
    day = due + 1 if due < 28 else 1
    return [
        JobSpec(
            "publish-lists",
            settings.publish_cron,
            publish_lists,
            "publish the white, warning and black lists",
        ),
        JobSpec("rule-run", settings.rule_run_cron, rule_run, "full rule run over the registry"),
        JobSpec(
            "follow-up",
            settings.follow_up_cron,
            follow_up,
            "move rectification cases past their deadline to verifying, with the re-check",
        ),
        JobSpec(
            "purge-sessions",
            settings.purge_sessions_cron,
            purge_sessions,
            "delete ended sessions and old sign-in counts",
        ),
        JobSpec(
            "statement-deadline",
            f"30 0 {day} * *",
            statement_deadline,
            f"rule run the day after the statement deadline (day {due})",
        ),
    ]


# ------------------------------------------------------------------------------------------ the claim


def run_claimed(ctx: JobContext, spec: JobSpec, fire_time: dt.datetime) -> dict[str, Any] | None:
    """Run ``spec`` for ``fire_time`` unless that run is already done; record the outcome in ``job_run``."""
    with session_scope(ctx.engine) as session:
        claimed = job_runs.claim(session, spec.id, fire_time, runner=ctx.runner, now=ctx.clock.now())
    if not claimed:
        log.info("job %s for %s already done", spec.id, fire_time.isoformat())
        return None
    log.info("job %s for %s started", spec.id, fire_time.isoformat())
    try:
        result = spec.func(ctx, fire_time)
    except Exception as exc:
        with session_scope(ctx.engine) as session:
            job_runs.finish(
                session,
                spec.id,
                fire_time,
                ok=False,
                now=ctx.clock.now(),
                result={"error": f"{type(exc).__name__}: {exc}"},
            )
        raise
    with session_scope(ctx.engine) as session:
        job_runs.finish(session, spec.id, fire_time, ok=True, now=ctx.clock.now(), result=result)
    log.info("job %s for %s done", spec.id, fire_time.isoformat())
    return result
