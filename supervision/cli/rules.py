"""The rule engine: ``rules run`` and ``rules dry-run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from supervision.cli.common import as_of_date, err, fail, progress, settings_clock
from supervision.core.errors import DomainError

app = typer.Typer(help="The rule engine: full runs and dry runs (规则检查).", no_args_is_help=True)


@app.command("run")
def rules_run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="evaluating processes (default: 2 for large registries, else 0)")
    ] = None,
) -> None:
    """Evaluate every institution and store the run and its findings (new ones open, gone ones resolve)."""
    from rich.table import Table

    from supervision.compliance import runs as compliance
    from supervision.db import session_scope
    from supervision.registry import service as registry

    day = as_of_date(as_of)
    with session_scope() as session:
        total = registry.count(session)
        with progress() as bar:
            task = bar.add_task(f"rule run as of {day}", total=total)
            run = compliance.run_full(
                session,
                day,
                actor="cli:rules-run",
                now=settings_clock().now(),
                workers=workers,
                progress=lambda n: bar.advance(task, n),
            )
    table = Table("rule", "produced", "opened", "refreshed", "resolved", title=f"rule run {run.id}")
    for rule_id, c in run.counts["by_rule"].items():
        table.add_row(rule_id, *(str(c[k]) for k in ("produced", "opened", "refreshed", "resolved")))
    err.print(table)
    t = run.counts["totals"]
    err.print(
        f"run {run.id} as of {day}: {run.institutions} institutions"
        f" in {(run.duration_ms or 0) / 1000:.1f} s; "
        f"{t['produced']} findings ({t['opened']} new, {t['refreshed']} updated, "
        f"{t['unchanged']} unchanged), {t['resolved']} resolved"
    )
    if run.uncovered_dates:
        err.print(f"[yellow]calendar data missing for {len(run.uncovered_dates)} dates[/yellow]")


@app.command("dry-run")
def rules_dry_run(
    parameters: Annotated[
        list[Path], typer.Option("--parameters", help="a candidate parameter file (repeat for several)")
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="candidate rule data (parameters/, calendars/)")
    ] = None,
    examples: Annotated[int, typer.Option(help="example institutions per rule and direction")] = 5,
    workers: Annotated[int | None, typer.Option(help="evaluating processes")] = None,
    report_file: Annotated[Path | None, typer.Option("--json", help="write the full report as JSON")] = None,
) -> None:
    """Try candidate parameters against the registry; store nothing; show, per rule, who would newly fail
    or newly pass."""
    from rich.table import Table

    from supervision.compliance import dryrun as compliance
    from supervision.db import session_scope
    from supervision.registry import service as registry

    day = as_of_date(as_of)
    for p in parameters:
        if not p.is_file():
            err.print(f"[red]no such file: {p}[/red]")
            raise typer.Exit(2)
    try:
        with session_scope() as session:
            total = registry.count(session)
            with progress() as bar:
                task = bar.add_task(f"dry run as of {day}", total=total)
                report = compliance.dry_run(
                    session,
                    parameters,
                    day,
                    data_dir=data_dir,
                    workers=workers,
                    examples=examples,
                    progress=lambda n: bar.advance(task, n),
                )
    except DomainError as e:
        fail(e)
        return
    if report.parameter_changes:
        changes = Table("parameter", "in force", "candidate", title="parameters that differ")
        for c in report.parameter_changes:
            cur, cand = c["current"], c["candidate"]
            changes.add_row(
                c["name"],
                f"{cur['value']} ({cur['level']}, from {cur['effective_from']})" if cur else "—",
                f"{cand['value']} ({cand['level']}, from {cand['effective_from']})" if cand else "—",
            )
        err.print(changes)
    else:
        err.print("[yellow]the candidate changes no parameter in force on this date[/yellow]")
    table = Table(
        "rule",
        "title",
        "now",
        "candidate",
        "newly fail",
        "newly pass",
        "open now",
        title=f"dry run as of {day}: {report.institutions} institutions (institutions per rule)",
    )
    for r in report.rules:
        if r["current"] or r["candidate"] or r["stored_open"]:
            table.add_row(
                r["rule_id"],
                r["title_zh"],
                str(r["current"]),
                str(r["candidate"]),
                str(r["newly_fail"]),
                str(r["newly_pass"]),
                str(r["stored_open"]),
            )
    err.print(table)
    for r in report.rules:
        for label, key in (("newly fail", "fail_examples"), ("newly pass", "pass_examples")):
            for ex in r[key]:
                err.print(f"  {r['rule_id']} {label}: {ex['uscc']} {ex['name']} — {ex['message_zh']}")
    if report_file:
        report_file.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        err.print(f"report written to {report_file}")


calendar_app = typer.Typer(
    help="The calendar data of the rest-day rule (节假日与校历).", no_args_is_help=True
)


@calendar_app.command("check")
def calendar_check(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="jurisdiction code (default: the service's)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
) -> None:
    """List what the calendar data covers (holiday notices, school vacations) and what is missing; exits
    with status 1 when fewer than ``calendar.warning_days`` (60) days are covered from the date, so that a
    scheduled check can remind staff to add next year's notice in time."""
    from rich.table import Table

    from supervision.compliance import service as compliance
    from supervision.settings import get_settings

    day = as_of_date(as_of)
    cov = compliance.calendar_coverage(jurisdiction or get_settings().jurisdiction, day)
    if as_json:
        typer.echo(json.dumps(cov.to_dict(), ensure_ascii=False, indent=2))
    else:
        holidays = Table("year", "level", "notice", title="State Council holiday notices (节假日安排)")
        for y in cov.detail.holiday_years:
            holidays.add_row(str(y["year"]), y["level"], y["citation"])
        err.print(holidays)
        schools = Table(
            "school year", "group", "level", "winter", "summer", title="School vacations (寒暑假)"
        )
        for s in cov.detail.school_years:
            winter, summer = ("–".join(s[k]) if s[k] else "not loaded" for k in ("winter", "summer"))
            schools.add_row(s["school_year"], s["group"], s["level"], winter, summer)
        err.print(schools)
        until = cov.covered_until.isoformat() if cov.covered_until else "not covered"
        left = f" ({cov.days_left} days from {day})" if cov.days_left is not None else ""
        err.print(f"covered until: {until}{left}")
        for zh, en in zip(cov.missing_zh, cov.missing_en, strict=True):
            err.print(f"[yellow]missing:[/yellow] {zh} ({en})")
    if cov.warn:
        err.print(
            f"[yellow]fewer than {cov.warning_days} days of calendar data are left: add the State Council's "
            "holiday notice and the city's school calendar (see the README)[/yellow]"
        )
        raise typer.Exit(1)
