"""Compliance (合规检查) use cases: re-evaluating one institution, and the reads behind the API and the
console (findings, rule runs, the rule catalogue).

The other jobs have their own modules: :mod:`runs` (full runs), :mod:`selfcheck` (the public self-check),
:mod:`dryrun` (candidate parameters tried against the registry), :mod:`display` (how findings read).
The facts of an institution are its document (as the registry stores it) and its accepted, not superseded
escrow statements as the rules read them (:func:`facts.statement`, read by :func:`queries.statements_for`).
Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from rules.engine import CoverageCheck
from supervision.compliance import evaluation as ev
from supervision.compliance import queries, risk
from supervision.compliance.models import RuleRun
from supervision.compliance.runs import audit_run, totals
from supervision.core import rulebook
from supervision.core.clock import SystemClock
from supervision.core.errors import NotFound
from supervision.registry import queries as registry_queries
from supervision.settings import get_settings

DEFAULT_ACTOR = "system:compliance"


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
    jurisdiction = jurisdiction or get_settings().jurisdiction
    started = now if now is not None else SystemClock().now()
    clock = time.perf_counter()
    queries.lock_findings(session, shared=True)
    queries.lock_institution(session, institution_id)
    doc = registry_queries.documents_by_id(session, [institution_id]).get(institution_id)
    if doc is None:
        raise NotFound(f"no institution with id {institution_id}")
    statements = queries.statements_for(session, [institution_id], known_lines, as_of)[institution_id]
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
    changes = queries.apply_institution_lifecycle(
        session, institution_id=institution_id, rows=rows, run_id=run.id, as_of=as_of
    )
    tiers = risk.refresh(session, as_of, now=started, jurisdiction=jurisdiction, ids=[institution_id])
    elapsed = time.perf_counter() - clock
    run.counts = totals(produced, changes)
    run.counts["risk_tiers"] = {t: tiers.get(t, 0) for t in ("red", "yellow", "green")}
    run.uncovered_dates = sorted(d.isoformat() for d in evaluation.uncovered_dates)
    run.duration_ms = round(elapsed * 1000)
    run.finished_at = started + dt.timedelta(seconds=elapsed)
    audit_run(session, run)
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


def latest_full_run(session: Session) -> dict[str, Any] | None:
    _, rows = queries.search_runs(session, scope="full", limit=1, offset=0)
    return rows[0] if rows else None


def catalogue(as_of: dt.date, *, jurisdiction: str | None = None) -> dict[str, Any]:
    """The rule catalogue (规则目录) as of a date: every rule with the parameters in force and its basis."""
    return _catalogue(jurisdiction or get_settings().jurisdiction, as_of)


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


def calendar_coverage(jurisdiction: str, as_of: dt.date) -> CoverageCheck:
    """How far the calendar data reaches beyond ``as_of`` (shown on the run page and the dashboard, listed by
    ``supervision calendar check``)."""
    return rulebook.calendar_coverage(jurisdiction, as_of)


def level_names(jurisdiction: str | None = None) -> dict[str, str]:
    """Jurisdiction level code → Chinese name (全国, 广东省, 广州市 …), for showing parameter provenance."""
    eng = rulebook.engine(jurisdiction or get_settings().jurisdiction)
    return {j.code: j.name_zh for j in eng.chain}


def rule_titles(as_of: dt.date, *, jurisdiction: str | None = None) -> dict[str, dict[str, Any]]:
    """Rule ID → titles, severity, legal basis and description as of a date, in catalogue order."""
    rows = catalogue(as_of, jurisdiction=jurisdiction)["rules"]
    keep = ("title_zh", "title_en", "severity", "legal_basis", "description_zh", "automatic")
    return {r["id"]: {k: r[k] for k in keep} for r in rows}
