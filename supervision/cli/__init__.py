"""The ``supervision`` command."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text

from supervision.core.clock import Clock, SystemClock
from supervision.core.errors import DomainError
from supervision.settings import get_settings

app = typer.Typer(
    help="Supervision of off-campus training institutions (校外培训监管).", no_args_is_help=True
)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
err = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


def _fail(e: DomainError) -> None:
    err.print(f"[red]{e.code}[/red]: {e.detail}")
    for p in e.problems:
        err.print(f"  {p.loc}: {p.msg}")
    raise typer.Exit(2)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from supervision.db import migrate as run

    run()
    err.print("schema is up to date")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the web application (API docs at /docs)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "supervision.main:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@app.command("demo-data")
def demo_data(
    count: Annotated[int, typer.Option(help="institutions to generate")] = 2000,
    seed: Annotated[int, typer.Option()] = 2026,
    out: Annotated[Path | None, typer.Option(help="write JSON lines here instead of loading")] = None,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="load only into an empty registry")] = False,
) -> None:
    """Generate a realistic Tianhe registry, deterministic by seed; load it (or write it with --out)."""
    from supervision.db import get_engine
    from supervision.demo import registry as demo
    from supervision.registry.io import Record, import_records

    if out is not None:
        demo.write_jsonl(out, count, seed)
        err.print(f"wrote {count} institutions to {out}")
        return
    engine = get_engine()
    if if_empty:
        with engine.connect() as conn:
            if conn.execute(text("SELECT EXISTS (SELECT 1 FROM institution)")).scalar_one():
                err.print("registry already has data; demo data not loaded")
                return
    with _progress() as bar:
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


@app.command("import")
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
        with _progress() as bar:
            task = bar.add_task(f"importing {source.name}", total=len(records))
            report = import_records(
                get_engine(),
                records,
                actor="cli:import",
                now=SystemClock().now(),
                progress=lambda n: bar.advance(task, n),
            )
    except DomainError as e:
        _fail(e)
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


@app.command()
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
        _fail(e)
        return
    err.print(f"exported {n} institutions to {target} ({fmt})")


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="officer or admin")] = "officer",
    display_name: Annotated[str, typer.Option()] = "",
    password: Annotated[str | None, typer.Option(help="read from the terminal when omitted")] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="do nothing if the user exists")] = False,
) -> None:
    """Create a staff account."""
    from sqlmodel import select

    from supervision.accounts import service as accounts
    from supervision.accounts.models import StaffUser
    from supervision.db import session_scope

    if if_missing:
        with session_scope() as session:
            if session.exec(select(StaffUser).where(StaffUser.username == username)).first():
                return

    if password is None:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        with session_scope() as session:
            accounts.create_user(
                session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                now=dt.datetime.now(dt.UTC),
                actor="cli",
            )
    except DomainError as e:
        _fail(e)
    err.print(f"created {role} {username}")


# ------------------------------------------------------------------------------ decisions, lists, scheduler

lists_app = typer.Typer(help="The public lists: publish editions.", no_args_is_help=True)
decisions_app = typer.Typer(help="Decisions of the bureau (处理决定).", no_args_is_help=True)
app.add_typer(lists_app, name="lists")
app.add_typer(decisions_app, name="decisions")


def _clock() -> Clock:
    from supervision.core.clock import from_settings

    return from_settings(get_settings().today)


def _demo_decisions_and_lists(engine) -> None:  # type: ignore[no-untyped-def]
    from supervision.compliance import service as compliance
    from supervision.db import session_scope
    from supervision.demo.decisions import record_demo_decisions
    from supervision.lists import service as lists

    now = _clock().now()
    n = record_demo_decisions(engine, now)
    err.print(f"recorded {n} demo decisions")
    with session_scope(engine) as session:  # findings first: the white list needs "no open critical finding"
        run = compliance.run_full(session, _clock().today(), "system:demo-data", now=now)
    err.print(f"rule run {run.id}: {run.institutions} institutions checked")
    with session_scope(engine) as session:
        outcomes = lists.publish(
            session,
            as_of=_clock().today(),
            now=now,
            actor="system:demo-data",
            jurisdiction=get_settings().jurisdiction,
        )
    for o in outcomes:
        err.print(f"{o.kind} list: {o.status}, edition {o.seq}, {o.entries} entries")


@lists_app.command("publish")
def lists_publish(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="white, warning or black (repeat; default all three)")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Publish list editions as of a date (once per kind and date: a second run changes nothing)."""
    from supervision.db import session_scope
    from supervision.lists import service as lists

    clock = _clock()
    try:
        day = dt.date.fromisoformat(as_of) if as_of else clock.today()
    except ValueError:
        err.print(f"[red]--as-of must be a date written YYYY-MM-DD, not {as_of!r}[/red]")
        raise typer.Exit(2) from None
    try:
        with session_scope() as session:
            outcomes = lists.publish(
                session,
                as_of=day,
                now=clock.now(),
                actor="cli:lists-publish",
                jurisdiction=get_settings().jurisdiction,
                kinds=kind,
            )
    except DomainError as e:
        _fail(e)
        return
    for o in outcomes:
        if o.status == "published":
            err.print(
                f"{o.kind}: edition {o.seq} as of {o.as_of}, {o.entries} entries "
                f"(+{o.entered} −{o.left} ~{o.changed}), sha256 {o.sha256}"
            )
        else:
            err.print(
                f"{o.kind}: {o.status.replace('_', ' ')} as of {o.as_of}"
                + (f" (edition {o.seq})" if o.seq else "")
            )


@decisions_app.command("record")
def decisions_record(
    uscc: Annotated[str, typer.Argument(help="the institution's credit code")],
    kind: Annotated[
        str,
        typer.Option(help="warning, rectification_order, suspend_licence, revoke_licence, blacklist or lift"),
    ],
    summary: Annotated[str, typer.Option(help="what was found and decided (public)")],
    basis: Annotated[list[str] | None, typer.Option("--basis", help="rule or conduct ID (repeat)")] = None,
    reference: Annotated[str | None, typer.Option(help="document number; generated when omitted")] = None,
    decided_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: decided_on)")] = None,
    deadline: Annotated[str | None, typer.Option(help="rectification deadline YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last day on the blacklist YYYY-MM-DD")] = None,
    lifts: Annotated[str | None, typer.Option(help="reference of the decision a lift ends")] = None,
    officer: Annotated[str, typer.Option(help="the officer who decided")] = "",
) -> None:
    """Record a decision (immutable; a correction is a new decision)."""
    from supervision.cases import service as cases
    from supervision.db import session_scope

    raw = {
        "uscc": uscc,
        "kind": kind,
        "summary": summary,
        "basis": basis or [],
        "reference": reference,
        "decided_on": decided_on,
        "effective_from": effective_from,
        "deadline": deadline,
        "until": until,
        "lifts": lifts,
        "officer": officer or None,
    }
    try:
        data = cases.parse_decision({k: v for k, v in raw.items() if v is not None})
        with session_scope() as session:
            out = cases.record_decision(
                session, data, actor="cli:decisions-record", officer=officer or "cli", now=_clock().now()
            )
    except DomainError as e:
        _fail(e)
        return
    print(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=2))


@app.command()
def scheduler() -> None:
    """Run the scheduler process (the same as ``python -m scheduler``)."""
    from scheduler.__main__ import main as run

    run([])


# ------------------------------------------------------------------------------------ escrow and keys

keys_app = typer.Typer(
    help="Institution API keys (机构密钥) for the escrow API and portal.", no_args_is_help=True
)
escrow_app = typer.Typer(help="Prepaid-fee escrow (预收费资金监管).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(escrow_app, name="escrow")


def _now() -> dt.datetime:
    return _clock().now()


@keys_app.command("issue")
def keys_issue(
    uscc: Annotated[str, typer.Argument(help="the institution's credit code")],
    days: Annotated[int, typer.Option(help="days until the key expires")] = 365,
    label: Annotated[str, typer.Option(help="a note to tell keys apart")] = "",
) -> None:
    """Issue a key for an institution. The key is printed once (on stdout) and stored only hashed."""
    from supervision.db import session_scope
    from supervision.escrow import keys

    try:
        with session_scope() as session:
            key, row = keys.issue(
                session, uscc=uscc, now=_now(), actor="cli:keys-issue", days=days, label=label
            )
            public_id, expires = row.public_id, row.expires_at
    except DomainError as e:
        _fail(e)
        return
    err.print(
        f"issued key {public_id} for {uscc}, valid until {expires:%Y-%m-%d %H:%M} UTC; it is shown only now:"
    )
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(
    public_id: Annotated[str, typer.Argument(help="the key's public id (sk_<public id>_…)")],
) -> None:
    """Revoke a key; portal sessions opened with it end too."""
    from supervision.db import session_scope
    from supervision.escrow import keys

    try:
        with session_scope() as session:
            keys.revoke(
                session, public_id=public_id.removeprefix("sk_")[:10], now=_now(), actor="cli:keys-revoke"
            )
    except DomainError as e:
        _fail(e)
        return
    err.print(f"revoked key {public_id}")


@keys_app.command("list")
def keys_list(
    uscc: Annotated[str | None, typer.Argument(help="only this institution's keys")] = None,
) -> None:
    """List keys (never the keys themselves: only their public ids and status)."""
    from rich.table import Table

    from supervision.db import session_scope
    from supervision.escrow import keys

    now = _now()
    table = Table("public id", "credit code", "label", "created", "expires", "status")
    with session_scope() as session:
        for row, code in keys.list_keys(session, uscc):
            table.add_row(
                row.public_id,
                code,
                row.label,
                f"{row.created_at:%Y-%m-%d}",
                f"{row.expires_at:%Y-%m-%d}",
                keys.key_status(row, now),
            )
    Console().print(table)


@escrow_app.command("verify")
def escrow_verify() -> None:
    """Check every invariant over the whole ledger: balanced transactions, exact reversals, stored balances
    equal to their entries, line totals, one statement in force per period, and the balances each statement
    in force implies. Exit status 1 when anything is wrong."""
    from supervision.db import session_scope
    from supervision.escrow import ledger

    with session_scope() as session:
        result = ledger.verify(session)
    for problem in result.problems:
        err.print(f"[red]✗[/red] {problem}")
    err.print(
        f"{result.institutions} institutions, {result.statements} statements, "
        f"{result.transactions} transactions, {result.entries} entries: "
        + (
            "[green]every invariant holds[/green]"
            if result.ok
            else f"[red]{len(result.problems)} problems[/red]"
        )
    )
    if not result.ok:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------ rules

rules_app = typer.Typer(help="The rule engine: full runs and dry runs (规则检查).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return _clock().today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--as-of: expected YYYY-MM-DD, got {value!r}[/red]")
        raise typer.Exit(2) from None


@rules_app.command("run")
def rules_run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="evaluating processes (default: 2 for large registries, else 0)")
    ] = None,
) -> None:
    """Evaluate every institution and store the run and its findings (new ones open, gone ones resolve)."""
    from rich.table import Table

    from supervision.compliance import service as compliance
    from supervision.db import session_scope
    from supervision.registry import service as registry

    day = _as_of(as_of)
    with session_scope() as session:
        total = registry.count(session)
        with _progress() as bar:
            task = bar.add_task(f"rule run as of {day}", total=total)
            run = compliance.run_full(
                session,
                day,
                actor="cli:rules-run",
                now=_clock().now(),
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


@rules_app.command("dry-run")
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

    from supervision.compliance import service as compliance
    from supervision.db import session_scope
    from supervision.registry import service as registry

    day = _as_of(as_of)
    for p in parameters:
        if not p.is_file():
            err.print(f"[red]no such file: {p}[/red]")
            raise typer.Exit(2)
    try:
        with session_scope() as session:
            total = registry.count(session)
            with _progress() as bar:
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
        _fail(e)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
