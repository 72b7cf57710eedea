"""The public lists: ``lists publish``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from supervision.cli.common import err, fail, settings_clock
from supervision.core.errors import DomainError
from supervision.settings import get_settings

app = typer.Typer(help="The public lists: publish editions.", no_args_is_help=True)


@app.command("publish")
def lists_publish(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="white, warning or black (repeat; default all three)")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Publish list editions as of a date (once per kind and date: a second run changes nothing)."""
    from supervision.db import session_scope
    from supervision.lists import service as lists

    clock = settings_clock()
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
        fail(e)
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
