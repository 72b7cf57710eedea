"""What every command shares: the error console, the progress bar, domain-error output, the clock."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from supervision.core.clock import Clock
from supervision.core.errors import DomainError
from supervision.settings import get_settings

err = Console(stderr=True)
out = Console()


def progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


def fail(e: DomainError) -> None:
    err.print(f"[red]{e.code}[/red]: {e.detail}")
    for p in e.problems:
        err.print(f"  {p.loc}: {p.msg}")
    raise typer.Exit(2)


def settings_clock() -> Clock:
    from supervision.core.clock import from_settings

    return from_settings(get_settings().today)


def as_of_date(value: str | None) -> dt.date:
    if value is None:
        return settings_clock().today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]--as-of: expected YYYY-MM-DD, got {value!r}[/red]")
        raise typer.Exit(2) from None
