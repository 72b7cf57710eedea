"""Staff accounts: ``users create``."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from supervision.cli.common import err, fail, settings_clock
from supervision.core.errors import DomainError

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="officer or admin")] = "officer",
    display_name: Annotated[str, typer.Option()] = "",
    password: Annotated[str | None, typer.Option(help="read from the terminal when omitted")] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="do nothing if the user exists")] = False,
) -> None:
    """Create a staff account."""
    from supervision.accounts import service as accounts
    from supervision.db import session_scope

    if if_missing:
        with session_scope() as session:
            if accounts.find_user(session, username) is not None:
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
                now=settings_clock().now(),
                actor="cli",
            )
    except DomainError as e:
        fail(e)
    err.print(f"created {role} {username}")
