"""Full rule runs (全量检查): every institution of the registry evaluated as of a date, in ranges, in this
process or in worker processes, with the run, its counts and timings and its findings' lifecycle stored.

The recording of a run (its counts per rule and its audit row) is shared with the re-evaluation of one
institution (:mod:`service`). Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from supervision.compliance import evaluation as ev
from supervision.compliance import queries, risk
from supervision.compliance.models import RuleRun
from supervision.core import audit, rulebook
from supervision.core.clock import SystemClock
from supervision.core.errors import Conflict
from supervision.db import bulk_timeouts, connection_options, raw_connection
from supervision.settings import get_settings

BATCH = 2000
"""Institutions per range of a bulk run."""
POOL_THRESHOLD = 20_000
"""From this many institutions, a full run evaluates in worker processes; below, in this process."""
POOL_WORKERS = max(2, (os.cpu_count() or 2) // 2)
"""Worker processes of a pooled run by default: half the cores, and two at least (the default for small
machines). The database spends about as much CPU building the documents as the engine spends reading them,
so more workers than that only compete with it; ``workers`` overrides it."""


def dsn(session: Session) -> str:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def elapsed_ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)


def workers_for(workers: int | None, count: int) -> int:
    if workers is not None:
        return max(workers, 0)
    return POOL_WORKERS if count >= POOL_THRESHOLD else 0


def totals(produced: Mapping[str, int], changes: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    rules = sorted(set(produced) | {r for c in changes.values() for r in c})
    by_rule = {
        r: {
            "produced": produced.get(r, 0),
            "opened": changes["opened"].get(r, 0),
            "refreshed": changes["refreshed"].get(r, 0),
            "resolved": changes["resolved"].get(r, 0),
        }
        for r in rules
    }
    totals = {k: sum(v[k] for v in by_rule.values()) for k in ("produced", "opened", "refreshed", "resolved")}
    totals["unchanged"] = totals["produced"] - totals["opened"] - totals["refreshed"]
    return {"by_rule": by_rule, "totals": totals}


def audit_run(session: Session, run: RuleRun) -> None:
    audit.record(
        session,
        at=run.started_at,
        actor=run.actor,
        action="run",
        entity="rule_run",
        key=str(run.id),
        before=None,
        after={
            "scope": run.scope,
            "institution_id": run.institution_id,
            "as_of": run.as_of.isoformat(),
            "jurisdiction": run.jurisdiction,
            "parameter_hash": run.parameter_hash,
            "engine_version": run.engine_version,
            "institutions": run.institutions,
            "totals": run.counts.get("totals"),
        },
    )


# ------------------------------------------------------------------------------------------- full run


def run_full(
    session: Session,
    as_of: dt.date,
    actor: str,
    *,
    now: dt.datetime | None = None,
    workers: int | None = None,
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
    jurisdiction: str | None = None,
) -> RuleRun:
    """Evaluate every institution as of ``as_of`` and store the run and its findings' lifecycle.

    ``run_full(session, as_of, actor, *, now=None, workers=None, batch_size=2000, progress=None,
    jurisdiction=None) -> RuleRun``

    - ``session``: the caller's unit of work; this function flushes, the caller commits (a job wraps it in
      ``session_scope``). The run row and every finding change become visible together at that commit.
    - ``now``: the instant recorded as the start (default: the system clock); ``as_of`` is the business date.
    - ``workers``: evaluating processes. ``None`` picks :data:`POOL_WORKERS` from
      :data:`POOL_THRESHOLD` institutions and 0 (this process, on
      this session's connection) below. Workers read committed data only, so rows this session has not yet
      committed are seen by ``workers=0`` alone.
    - ``progress``: called with the number of institutions of each range as soon as it is evaluated
      (before it is written).

    Findings produced and still open are left alone when unchanged (first-seen date kept), rewritten when
    their message or trace changed, opened when new; open findings not produced are resolved by this run.
    Each range is written as soon as it is evaluated, while the workers go on with the next ones. From the
    first write until the caller commits, re-evaluations of single institutions and deletions wait for the
    run (about the length of the run, which is scheduled at night); one that
    committed after the run began keeps its fresher result. One full run at a time: a second one raises
    :class:`Conflict` (``run_in_progress``) at once.
    """
    jurisdiction = jurisdiction or get_settings().jurisdiction
    started = now if now is not None else SystemClock().now()
    clock = time.perf_counter()
    ctx = rulebook.context(jurisdiction, as_of)
    bulk_timeouts(session)

    if not queries.try_lock_full_run(session):
        raise Conflict(
            "a full rule run is already in progress; try again when it has finished", "run_in_progress"
        )
    run_id = queries.claim_full_run_id(session)
    run = RuleRun(
        id=run_id,
        scope="full",
        as_of=as_of,
        jurisdiction=jurisdiction,
        parameter_hash=ctx.engine.parameter_set_hash,
        engine_version=ev.engine_version(),
        started_at=started,
        actor=actor,
    )
    session.add(run)
    session.flush()
    assert run.id is not None

    ids = queries.institution_ids(session)
    queries.create_stage(session, ids)

    produced: Counter[str] = Counter()
    changes: dict[str, Counter[str]] = {k: Counter() for k in ("opened", "refreshed", "resolved")}
    uncovered: set[dt.date] = set()
    tiers: Counter[str] = Counter()
    timings = {"lock": 0, "write": 0, "tiers": 0}
    evaluated, worker_peak, locked, analyzed = len(ids), 0.0, False, False

    def keep(batch: ev.StageBatch | ev.DiffBatch, r: ev.Range) -> None:
        nonlocal evaluated, worker_peak, locked, analyzed
        assert isinstance(batch, ev.StageBatch)
        if progress:
            progress(r[2])
        if not locked:
            # From the first write until commit, re-evaluations of single institutions (and deletions) wait.
            # Those that committed since the run began are fresher than what the run read: left out.
            step = time.perf_counter()
            queries.lock_findings(session, shared=False)
            evaluated = queries.drop_stale_scope(session, run_id)
            locked = True
            timings["lock"] = elapsed_ms(step)
        step = time.perf_counter()
        lo, hi, _ = r
        complete = evaluated == len(ids)
        # A range whose institutions are all in scope and have nothing stored (a first run, or institutions
        # new since the last) has nothing to compare against: its rows are appended as they come. The worker
        # read what is stored; nothing else writes a range in scope while the run goes (and the tables' keys
        # would refuse a second copy of a row all the same).
        new_findings = complete and not batch.saw_stored[0]
        new_tiers = complete and not batch.saw_stored[1]
        if new_findings:
            queries.insert_findings(session, batch.copy)
            produced.update(batch.produced)
            changes["opened"].update(batch.produced)
        else:
            # The workers compared the range with what is stored: only new and changed findings come whole.
            # When some institutions left the scope, the counts come from the database, so the unchanged
            # ones' keys are staged too (the lifecycle passes over them).
            staged = batch.copy if complete else batch.copy + batch.kept
            if staged or not complete:
                queries.stage_findings(session, staged, analyze=not analyzed and bool(staged))
                analyzed = analyzed or bool(staged)
            if complete:
                produced.update(batch.produced)
            else:
                produced.update(queries.staged_by_rule(session))
            written = queries.apply_range_lifecycle(
                session, run_id=run_id, as_of=as_of, lo=lo, hi=hi, gone=batch.gone, staged=bool(batch.copy)
            )
            for k, v in written.items():
                changes[k].update(v)
        # The range's tiers, computed by the workers with its findings, stored where they changed.
        tiers.update(batch.tier_counts)
        tier_step = time.perf_counter()
        queries.store_run_tiers(session, batch.tiers, nothing_stored=new_tiers)
        timings["tiers"] += elapsed_ms(tier_step)
        timings["write"] += elapsed_ms(step)
        uncovered.update(batch.uncovered)
        worker_peak = max(worker_peak, batch.peak_mib)

    job = ev.Job(
        dsn(session),
        jurisdiction,
        as_of,
        "stage",
        options=connection_options(session),
        complaints=risk.complaints_since(session, as_of),
        run_id=run_id,
        started=started,
    )
    n_workers = workers_for(workers, len(ids))
    todo = ev.ranges(ids, batch_size)
    ev.evaluate_ranges(job, todo, workers=n_workers, local=raw_connection(session), on_result=keep)

    elapsed = time.perf_counter() - clock
    run.institutions = evaluated
    run.counts = totals(produced, changes)
    run.counts["workers"] = n_workers
    run.counts["timings_ms"] = timings
    run.counts["risk_tiers"] = {t: tiers.get(t, 0) for t in ("red", "yellow", "green")}
    if n_workers:
        run.counts["worker_peak_mib"] = round(worker_peak)
    run.uncovered_dates = sorted(d.isoformat() for d in uncovered)
    run.duration_ms = round(elapsed * 1000)
    run.finished_at = started + dt.timedelta(seconds=elapsed)
    audit_run(session, run)
    session.flush()
    return run
