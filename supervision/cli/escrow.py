"""Prepaid-fee escrow: ``keys issue|revoke|list`` and ``escrow verify``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from supervision.cli.common import err, fail, settings_clock
from supervision.core.errors import DomainError

keys_app = typer.Typer(
    help="Institution API keys (机构密钥) for the escrow API and portal.", no_args_is_help=True
)
escrow_app = typer.Typer(help="Prepaid-fee escrow (预收费资金监管).", no_args_is_help=True)


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
                session, uscc=uscc, now=settings_clock().now(), actor="cli:keys-issue", days=days, label=label
            )
            public_id, expires = row.public_id, row.expires_at
    except DomainError as e:
        fail(e)
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
                session,
                public_id=public_id.removeprefix("sk_")[:10],
                now=settings_clock().now(),
                actor="cli:keys-revoke",
            )
    except DomainError as e:
        fail(e)
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

    now = settings_clock().now()
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
