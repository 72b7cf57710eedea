"""The registry: ``import`` and ``export``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from supervision.cli.common import err, fail, progress
from supervision.core.clock import SystemClock
from supervision.core.errors import DomainError


def import_(
    source: Annotated[Path, typer.Argument(help="a .json or .jsonl file, or a folder of CSV tables")],
    report_file: Annotated[
        Path | None, typer.Option("--report", help="write the full report as JSON")
    ] = None,
) -> None:
    """Import institutions. Bad records are listed with their line and field; good ones are stored."""
    from supervision.db import get_engine
    from supervision.registry.io import import_records, read_source

    if not source.exists():
        err.print(f"[red]no such file or folder: {source}[/red]")
        raise typer.Exit(2)
    try:
        records = list(read_source(source))
        with progress() as bar:
            task = bar.add_task(f"importing {source.name}", total=len(records))
            report = import_records(
                get_engine(),
                records,
                actor="cli:import",
                now=SystemClock().now(),
                progress=lambda n: bar.advance(task, n),
            )
    except DomainError as e:
        fail(e)
        return
    for loc, problems in report.rejected[:200]:
        err.print(f"[yellow]rejected[/yellow] {loc}")
        for p in problems:
            err.print(f"    {p.loc}: {p.msg}")
    if len(report.rejected) > 200:
        err.print(f"... and {len(report.rejected) - 200} more rejected records (see --report)")
    if report_file:
        report_file.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    err.print(
        f"imported {report.imported}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.rejected)}"
    )
    if report.rejected:
        raise typer.Exit(1)


def export(
    target: Annotated[Path, typer.Argument(help="a file (.jsonl/.json) or a folder for CSV tables")],
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, json or csv")] = None,
) -> None:
    """Export the whole registry in the import formats."""
    from supervision.db import get_engine
    from supervision.registry.io import export as run

    fmt = fmt or {".jsonl": "jsonl", ".json": "json"}.get(target.suffix.lower(), "csv")
    try:
        n = run(get_engine(), target, fmt)
    except DomainError as e:
        fail(e)
        return
    err.print(f"exported {n} institutions to {target} ({fmt})")
