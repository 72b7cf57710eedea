"""Compliance (合规检查): the only bridge between the registry and the rule engine.

- :func:`run_full` evaluates the whole registry as of a date and stores a run and the findings' lifecycle;
- :func:`reevaluate_institution` does the same for one institution (after a save or an accepted statement);
- :func:`evaluate_document` is the public self-check: a document in, findings out, nothing stored;
- :func:`dry_run` tries candidate parameter files against the registry and reports what would change;
- the rest are the reads behind the API and the console.

The facts of an institution are its document (as the registry stores it) and its accepted, not superseded
escrow statements as the rules read them (:func:`facts.statement`, read by :func:`queries.statements_for`).
Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import Connection
from sqlmodel import Session

from rules import DataFileError
from supervision.compliance import display, facts, queries
from supervision.compliance import evaluation as ev
from supervision.compliance.models import RuleRun
from supervision.core import audit, rulebook
from supervision.core.clock import SystemClock
from supervision.core.errors import Conflict, Invalid, NotFound, Problem
from supervision.db import raw_connection
from supervision.registry import queries as registry_queries
from supervision.registry import service as registry
from supervision.settings import get_settings

DEFAULT_ACTOR = "system:compliance"
BATCH = 2000
"""Institutions per range of a bulk run."""
POOL_THRESHOLD = 20_000
"""From this many institutions, a full run evaluates in worker processes; below, in this process."""
POOL_WORKERS = 2


def _jurisdiction(jurisdiction: str | None) -> str:
    return jurisdiction or get_settings().jurisdiction


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else SystemClock().now()


def _dsn(session: Session) -> str:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)


def _workers(workers: int | None, count: int) -> int:
    if workers is not None:
        return max(workers, 0)
    return POOL_WORKERS if count >= POOL_THRESHOLD else 0


def _totals(produced: Mapping[str, int], changes: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
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


def _audit_run(session: Session, run: RuleRun) -> None:
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
    - ``workers``: evaluating processes. ``None`` picks 2 from 20,000 institutions and 0 (this process, on
      this session's connection) below. Workers read committed data only, so rows this session has not yet
      committed are seen by ``workers=0`` alone.
    - ``progress``: called with the number of institutions of each range as soon as it is evaluated
      (before it is written).

    Findings produced and still open are left alone when unchanged (first-seen date kept), rewritten when
    their message or trace changed, opened when new; open findings not produced are resolved by this run.
    Each range is written as soon as it is evaluated, while the workers go on with the next ones. From the
    first write until the caller commits, re-evaluations of single institutions and deletions wait for the
    run (about the length of the run: tens of seconds for half a million institutions, at night); one that
    committed after the run began keeps its fresher result. One full run at a time: a second one raises
    :class:`Conflict` (``run_in_progress``) at once.
    """
    jurisdiction = _jurisdiction(jurisdiction)
    started = _now(now)
    clock = time.perf_counter()
    ctx = rulebook.context(jurisdiction, as_of)

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
    timings = {"lock": 0, "write": 0}
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
            timings["lock"] = _ms(step)
        step = time.perf_counter()
        queries.stage_findings(session, batch.copy, analyze=not analyzed and bool(batch.copy))
        analyzed = analyzed or bool(batch.copy)
        lo, hi, _ = r
        if evaluated == len(ids):
            produced.update(batch.produced)
        else:
            produced.update(queries.staged_by_rule(session))
        written = queries.apply_lifecycle(
            session,
            stage=queries.BULK_STAGE,
            scope=queries.BULK_SCOPE,
            run_id=run_id,
            as_of=as_of,
            params={"lo": lo, "hi": hi},
        )
        for k, v in written.items():
            changes[k].update(v)
        timings["write"] += _ms(step)
        uncovered.update(batch.uncovered)
        worker_peak = max(worker_peak, batch.peak_mib)

    job = ev.Job(_dsn(session), jurisdiction, as_of, "stage")
    n_workers = _workers(workers, len(ids))
    todo = ev.ranges(ids, batch_size)
    ev.evaluate_ranges(job, todo, workers=n_workers, local=raw_connection(session), on_result=keep)

    elapsed = time.perf_counter() - clock
    run.institutions = evaluated
    run.counts = _totals(produced, changes)
    run.counts["workers"] = n_workers
    run.counts["timings_ms"] = timings
    if n_workers:
        run.counts["worker_peak_mib"] = round(worker_peak)
    run.uncovered_dates = sorted(d.isoformat() for d in uncovered)
    run.duration_ms = round(elapsed * 1000)
    run.finished_at = started + dt.timedelta(seconds=elapsed)
    _audit_run(session, run)
    session.flush()
    return run


# ------------------------------------------------------------------------------------ one institution


def reevaluate_institution(
    session: Session,
    institution_id: int,
    as_of: dt.date,
    actor: str = DEFAULT_ACTOR,
    *,
    now: dt.datetime | None = None,
    jurisdiction: str | None = None,
    known_lines: Mapping[int, Sequence[Sequence[Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Re-evaluate one institution (重新评估) as of ``as_of`` from its stored document and its statements in
    force, store an ``institution`` run and apply the lifecycle to its findings alone. Returns its open
    findings afterwards (dicts with ``id``, ``rule_id``, ``severity``, ``subject``, messages, ``trace``,
    ``first_seen_on`` …). Flushes; the caller commits. Raises :class:`NotFound` for an unknown id.

    Called after a staff save of the institution and after an escrow statement is accepted, in the same
    transaction, so the findings never lag behind what was just stored. ``known_lines``: the lines of a
    statement the caller has just stored, by statement id (``(date, type, amount_fen, ref, package_code,
    lessons, months)`` in the statement's order, exactly as stored), so that they are not read back; which
    statements are in force, and their summaries, are read from the database all the same.
    """
    jurisdiction = _jurisdiction(jurisdiction)
    started = _now(now)
    clock = time.perf_counter()
    queries.lock_findings(session, shared=True)
    queries.lock_institution(session, institution_id)
    doc = registry_queries.documents_by_id(session, [institution_id]).get(institution_id)
    if doc is None:
        raise NotFound(f"no institution with id {institution_id}")
    statements = queries.statements_for(session, [institution_id], known_lines)[institution_id]
    ctx = rulebook.context(jurisdiction, as_of)
    evaluation = ctx.evaluate(doc, statements)
    run = RuleRun(
        scope="institution",
        institution_id=institution_id,
        as_of=as_of,
        jurisdiction=jurisdiction,
        parameter_hash=ctx.engine.parameter_set_hash,
        engine_version=ev.engine_version(),
        started_at=started,
        actor=actor,
        institutions=1,
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    rows, produced = ev.json_rows(institution_id, evaluation)
    changes = queries.apply_lifecycle(
        session,
        stage=queries.ONE_STAGE,
        scope=queries.ONE_SCOPE,
        run_id=run.id,
        as_of=as_of,
        params={"rows": rows, "lo": institution_id - 1, "hi": institution_id},
    )
    elapsed = time.perf_counter() - clock
    run.counts = _totals(produced, changes)
    run.uncovered_dates = sorted(d.isoformat() for d in evaluation.uncovered_dates)
    run.duration_ms = round(elapsed * 1000)
    run.finished_at = started + dt.timedelta(seconds=elapsed)
    _audit_run(session, run)
    session.flush()
    return queries.open_findings_of(session, institution_id)


def hold_findings(session: Session) -> None:
    """Wait for a full run that is writing its findings, and keep the next one from writing until this
    transaction ends. Taken before deleting an institution, so that a run never inserts findings for an
    institution deleted under it."""
    queries.lock_findings(session, shared=True)


def reevaluate_uscc(
    session: Session, uscc: str, as_of: dt.date, actor: str, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """:func:`reevaluate_institution` by credit code (the registry API's key)."""
    iid = queries.institution_id(session, uscc)
    if iid is None:
        raise NotFound(f"no institution with credit code {uscc}")
    return reevaluate_institution(session, iid, as_of, actor, now=now)


# ---------------------------------------------------------------------------------- public self-check


def _statements(raw: Any, as_of: dt.date) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Statements of a self-check, each checked like a submission (the escrow area's validator)."""
    from supervision.escrow.validation import parse_json

    if not isinstance(raw, list):
        return [], [Problem("statements", "must be a list of statements (it may be empty)")]
    out: list[dict[str, Any]] = []
    problems: list[Problem] = []
    periods: dict[str, int] = {}
    for i, item in enumerate(raw):
        try:
            parsed = parse_json(orjson.dumps(item), as_of)
        except Invalid as err:
            problems += [
                Problem(f"statements[{i}]" + (f".{p.loc}" if p.loc != "$" else ""), p.msg)
                for p in err.problems
            ]
            continue
        period = parsed.summary.period
        if period in periods:
            problems.append(
                Problem(
                    f"statements[{i}].period",
                    f"{period} appears twice (first at statements[{periods[period]}])",
                )
            )
            continue
        periods[period] = i
        out.append(facts.statement({**parsed.summary.model_dump(), "id": i + 1}, parsed.lines))
    return out, problems


def evaluate_document(raw: Any, as_of: dt.date, *, jurisdiction: str | None = None) -> dict[str, Any]:
    """Evaluate an institution document (and, if given, its ``statements``) without storing anything.

    Invalid input raises :class:`Invalid` listing every problem, with the registry's paths for the document
    and ``statements[i]…`` for the statements. Without a ``statements`` key the rules that read statements
    are not evaluated; with ``"statements": []`` the institution is taken to have filed none.
    """
    jurisdiction = _jurisdiction(jurisdiction)
    if not isinstance(raw, dict):
        raise Invalid("an institution document must be a JSON object", [Problem("$", "not an object")])
    body = dict(raw)
    statements_raw = body.pop("statements", None)
    problems: list[Problem] = []
    detail = "the document is not valid"
    doc: dict[str, Any] | None = None
    try:
        doc = registry.validate(body).doc
    except Invalid as err:
        detail = err.detail
        problems += err.problems
    statements: list[dict[str, Any]] | None = None
    if "statements" in raw:
        statements, bad = _statements(statements_raw, as_of)
        problems += bad
    if problems or doc is None:
        raise Invalid(detail, problems)
    ctx = rulebook.context(jurisdiction, as_of)
    result = ctx.evaluate(doc, statements)
    return {
        "as_of": as_of.isoformat(),
        "jurisdiction": jurisdiction,
        "engine_version": ev.engine_version(),
        "parameter_hash": ctx.engine.parameter_set_hash,
        "findings": [f.to_dict() for f in result.findings],
        "uncovered_dates": sorted(d.isoformat() for d in result.uncovered_dates),
    }


def catalogue(as_of: dt.date, *, jurisdiction: str | None = None) -> dict[str, Any]:
    """The rule catalogue (规则目录) as of a date: every rule with the parameters in force and its basis."""
    return _catalogue(_jurisdiction(jurisdiction), as_of)


@lru_cache(maxsize=32)
def _catalogue(jurisdiction: str, as_of: dt.date) -> dict[str, Any]:
    ctx = rulebook.context(jurisdiction, as_of)
    j = ctx.engine.jurisdiction
    return {
        "as_of": as_of.isoformat(),
        "jurisdiction": jurisdiction,
        "jurisdiction_name_zh": j.name_zh,
        "engine_version": ev.engine_version(),
        "parameter_hash": ctx.engine.parameter_set_hash,
        "rules": ctx.rules_in_force(),
    }


def level_names(jurisdiction: str | None = None) -> dict[str, str]:
    """Jurisdiction level code → Chinese name (全国, 广东省, 广州市 …), for showing parameter provenance."""
    eng = rulebook.engine(_jurisdiction(jurisdiction))
    return {j.code: j.name_zh for j in eng.chain}


# -------------------------------------------------------------------------------------------- dry run


@dataclass
class DryRunReport:
    """试算结果 — what candidate parameter files would change, per rule, against the parameters in force."""

    as_of: str
    jurisdiction: str
    candidate_files: list[str]
    current_parameter_hash: str
    candidate_parameter_hash: str
    institutions: int
    duration_ms: int
    parameter_changes: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    uncovered_dates: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parameter_changes(current: Any, candidate: Any) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(current.resolved) | set(candidate.resolved)):
        a, b = current.resolved.get(name), candidate.resolved.get(name)
        ta, tb = (a.trace() if a else None), (b.trace() if b else None)
        if ta != tb:
            out.append({"name": name, "current": ta, "candidate": tb})
    return out


def dry_run(
    session: Session,
    overlays: Sequence[Path | Mapping[str, Any]],
    as_of: dt.date,
    *,
    data_dir: Path | None = None,
    workers: int | None = None,
    examples: int = 5,
    progress: Callable[[int], None] | None = None,
    jurisdiction: str | None = None,
) -> DryRunReport:
    """Evaluate the registry as of ``as_of`` twice, with the parameters in force and with the candidate
    ``overlays`` (parameter files naming their level, see ``rules``; or a candidate ``data_dir``), and report
    per rule how many institutions would newly fail or newly pass, with examples. Stores nothing.

    Both evaluations read the same facts in the same pass, so the difference is the candidate's alone (not
    registry changes since the last run); ``stored_open`` gives, for comparison, the institutions with an
    open finding of the rule now. Bad candidate files raise :class:`Invalid` listing every problem.
    """
    jurisdiction = _jurisdiction(jurisdiction)
    started = time.perf_counter()
    try:
        candidate = ev.candidate_engine(jurisdiction, list(overlays), data_dir).at(as_of)
    except DataFileError as err:
        raise Invalid(
            "the candidate parameters cannot be used", [Problem("parameters", p) for p in err.problems]
        ) from None
    current = rulebook.context(jurisdiction, as_of)

    ids = queries.institution_ids(session)
    n_workers = _workers(workers, len(ids))
    raw = raw_connection(session)
    if n_workers == 0:
        queries.no_jit(session)
    rules: dict[str, ev.RuleDiff] = {}
    uncovered: set[dt.date] = set()
    count = 0

    def keep(batch: ev.StageBatch | ev.DiffBatch, r: ev.Range) -> None:
        nonlocal count
        assert isinstance(batch, ev.DiffBatch)
        count += batch.institutions
        for rule_id, d in batch.rules.items():
            rules.setdefault(rule_id, ev.RuleDiff()).merge(d, examples)
        uncovered.update(batch.uncovered)
        if progress:
            progress(r[2])

    job = ev.Job(_dsn(session), jurisdiction, as_of, "diff", tuple(overlays), data_dir, examples)
    ev.evaluate_ranges(
        job, ev.ranges(ids, BATCH), workers=n_workers, local=raw, candidate=candidate, on_result=keep
    )

    stored = queries.open_counts_by_rule(session)
    meta = {r["id"]: r for r in candidate.rules_in_force()}
    rows = []
    for rule_id in sorted(set(rules) | set(stored)):
        d = rules.get(rule_id, ev.RuleDiff())
        m = meta.get(rule_id, {})
        rows.append(
            {
                "rule_id": rule_id,
                "title_zh": m.get("title_zh", ""),
                "severity": m.get("severity", ""),
                "current": d.current,
                "candidate": d.candidate,
                "newly_fail": d.newly_fail,
                "newly_pass": d.newly_pass,
                "stored_open": stored.get(rule_id, 0),
                "fail_examples": [asdict(e) for e in d.fail_examples],
                "pass_examples": [asdict(e) for e in d.pass_examples],
            }
        )
    return DryRunReport(
        as_of=as_of.isoformat(),
        jurisdiction=jurisdiction,
        candidate_files=[p.name if isinstance(p, Path) else "(mapping)" for p in overlays],
        current_parameter_hash=current.engine.parameter_set_hash,
        candidate_parameter_hash=candidate.engine.parameter_set_hash,
        institutions=count,
        duration_ms=round((time.perf_counter() - started) * 1000),
        parameter_changes=_parameter_changes(current, candidate),
        rules=rows,
        uncovered_dates=sorted(d.isoformat() for d in uncovered),
    )


# ---------------------------------------------------------------------------------------------- reads


def search_findings(
    session: Session,
    *,
    rule: str | None = None,
    severity: str | None = None,
    grid: str | None = None,
    status: str | None = None,
    uscc: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """Findings with filters, most severe first (then rule, credit code, subject)."""
    return queries.search_findings(
        session, rule=rule, severity=severity, grid=grid, status=status, uscc=uscc, limit=limit, offset=offset
    )


def get_finding(session: Session, finding_id: int) -> dict[str, Any]:
    """One finding with its trace and the history of the same problem (earlier, resolved findings)."""
    row = queries.finding(session, finding_id)
    if row is None:
        raise NotFound(f"no finding {finding_id}")
    iid = queries.institution_of_finding(session, finding_id)
    assert iid is not None
    row["history"] = [
        h
        for h in queries.finding_history(session, iid, row["rule_id"], row["subject"])
        if h["id"] != finding_id
    ]
    return row


def search_runs(
    session: Session, *, scope: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    return queries.search_runs(session, scope=scope, limit=limit, offset=offset)


def get_run(session: Session, run_id: int) -> dict[str, Any]:
    row = queries.run(session, run_id)
    if row is None:
        raise NotFound(f"no rule run {run_id}")
    return row


# ---------------------------------------------------------------------------------------- the console

LABELS = {
    "severity": display.SEVERITY_ZH,
    "status": display.STATUS_ZH,
    "scope": display.SCOPE_ZH,
}
"""Chinese labels for the console's templates."""


def rule_titles(as_of: dt.date, *, jurisdiction: str | None = None) -> dict[str, dict[str, Any]]:
    """Rule ID → titles, severity, legal basis and description as of a date, in catalogue order."""
    rows = catalogue(as_of, jurisdiction=jurisdiction)["rules"]
    keep = ("title_zh", "title_en", "severity", "legal_basis", "description_zh", "automatic")
    return {r["id"]: {k: r[k] for k in keep} for r in rows}


def trace_view(trace: dict[str, Any], *, jurisdiction: str | None = None) -> dict[str, Any]:
    """A finding's trace as rows in Chinese (facts read, parameters used with level names, comparison)."""
    return display.trace_view(trace, level_names(jurisdiction))


def grids(session: Session) -> list[str]:
    """The grids (街道) present in the registry, for the console's filters."""
    return registry_queries.grids(session)


def latest_full_run(session: Session) -> dict[str, Any] | None:
    _, rows = queries.search_runs(session, scope="full", limit=1, offset=0)
    return rows[0] if rows else None
