"""Demo data: ``demo-data`` generates a registry, loads it, records decisions, runs the rules, publishes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from supervision.cli.common import err, progress, settings_clock
from supervision.core.clock import SystemClock
from supervision.settings import get_settings


def demo_data(
    count: Annotated[int, typer.Option(help="institutions to generate")] = 2000,
    seed: Annotated[int, typer.Option()] = 2026,
    out: Annotated[Path | None, typer.Option(help="write JSON lines here instead of loading")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="load only into an empty registry")] = False,
) -> None:
    """Generate a realistic Tianhe registry, deterministic by seed; load it (or write it with --out)."""
    from supervision.db import get_engine, session_scope
    from supervision.demo import registry as demo
    from supervision.registry import service as registry_service
    from supervision.registry.io import Record, import_records

    if out is not None:
        demo.write_jsonl(out, count, seed)
        err.print(f"wrote {count} institutions to {out}")
        return
    engine = get_engine()
    if if_empty:
        with session_scope(engine) as session:
            if registry_service.count(session):
                err.print("registry already has data; demo registry not loaded")
                _demo_casework(engine)
                return
    with progress() as bar:
        task = bar.add_task("demo registry", total=count)
        records = (Record(f"demo[{i}]", d) for i, d in enumerate(demo.generate(count, seed)))
        report = import_records(
            engine,
            records,
            actor="system:demo-data",
            now=SystemClock().now(),
            progress=lambda n: bar.advance(task, n),
        )
    err.print(
        f"imported {report.imported}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.rejected)}"
    )
    _demo_decisions_and_lists(engine)


def _demo_decisions_and_lists(engine: Engine) -> None:
    from supervision.cases import casework
    from supervision.compliance import runs as compliance
    from supervision.db import session_scope
    from supervision.demo.decisions import record_demo_decisions
    from supervision.demo.warnings import load_demo_warnings
    from supervision.lists import service as lists

    clock = settings_clock()
    now = clock.now()
    jurisdiction = get_settings().jurisdiction
    n = record_demo_decisions(engine, now)
    err.print(f"recorded {n} demo decisions")
    n = load_demo_warnings(engine, now, jurisdiction)
    err.print(f"gave {n} demo institutions statements and histories for the early warnings")
    with session_scope(engine) as session:  # findings first: the white list needs "no open critical finding"
        run = compliance.run_full(session, clock.today(), "system:demo-data", now=now)
    err.print(f"rule run {run.id}: {run.institutions} institutions checked")
    _demo_casework(engine)
    with session_scope(engine) as session:  # after the demo cases, which pick institutions without a case
        opened = casework.open_risk_cases(session, now=now, jurisdiction=jurisdiction)
    err.print(f"opened {len(opened)} cases for institutions in the red risk tier")
    with session_scope(engine) as session:
        outcomes = lists.publish(
            session,
            as_of=clock.today(),
            now=now,
            actor="system:demo-data",
            jurisdiction=jurisdiction,
        )
    for o in outcomes:
        err.print(f"{o.kind} list: {o.status}, edition {o.seq}, {o.entries} entries")


def _demo_casework(engine: Engine) -> None:
    from supervision.demo.casework import PASSWORD, STAFF, load_demo_casework

    n = load_demo_casework(engine, settings_clock().now(), get_settings().jurisdiction)
    if n:
        err.print(f"opened {n} demo cases, with complaints and inspections")
    for username, role, _, grids in STAFF:
        where = f" ({', '.join(grids)})" if grids else ""
        err.print(f"demo account {username} / {PASSWORD}: {role}{where}")
