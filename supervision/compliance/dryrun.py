"""Dry runs (试算): candidate parameter files tried against the whole registry, reporting per rule what would
newly fail or newly pass, with examples. Nothing is stored."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from rules import DataFileError
from supervision.compliance import evaluation as ev
from supervision.compliance import queries
from supervision.compliance.runs import BATCH, dsn, workers_for
from supervision.core import rulebook
from supervision.core.errors import Invalid, Problem
from supervision.db import raw_connection
from supervision.settings import get_settings


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
    jurisdiction = jurisdiction or get_settings().jurisdiction
    started = time.perf_counter()
    try:
        candidate = ev.candidate_engine(jurisdiction, list(overlays), data_dir).at(as_of)
    except DataFileError as err:
        raise Invalid(
            "the candidate parameters cannot be used", [Problem("parameters", p) for p in err.problems]
        ) from None
    current = rulebook.context(jurisdiction, as_of)

    ids = queries.institution_ids(session)
    n_workers = workers_for(workers, len(ids))
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

    job = ev.Job(dsn(session), jurisdiction, as_of, "diff", tuple(overlays), data_dir, examples)
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
