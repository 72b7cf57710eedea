"""Staff accounts: ``users create|disable|set-password|set-grids|list``."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from supervision.cli.common import err, fail, settings_clock
from supervision.core.errors import DomainError
from supervision.settings import get_settings

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="officer, supervisor, admin or auditor")] = "officer",
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="a grid the user works in (repeat)")
    ] = None,
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
        password = _read_password()
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
                grids=grid or (),
                jurisdiction=get_settings().jurisdiction,
            )
    except DomainError as e:
        fail(e)
    err.print(f"created {role} {username}" + (f" ({', '.join(grid)})" if grid else ""))


def _read_password() -> str:
    return getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")


@app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account: its sessions end at once and it can no longer sign in."""
    from supervision.accounts import service as accounts
    from supervision.db import session_scope

    try:
        with session_scope() as session:
            ended = accounts.disable_user(session, username, actor="cli", now=settings_clock().now())
    except DomainError as e:
        fail(e)
        return
    err.print(f"disabled {username}; {ended} session(s) ended")


@app.command("set-password")
def users_set_password(username: str) -> None:
    """Set a new password (read from the terminal, or one line of standard input); sessions end."""
    from supervision.accounts import service as accounts
    from supervision.db import session_scope

    try:
        with session_scope() as session:
            accounts.set_password(
                session, username, _read_password(), actor="cli", now=settings_clock().now()
            )
    except DomainError as e:
        fail(e)
        return
    err.print(f"password of {username} changed; its sessions ended")


@app.command("set-grids")
def users_set_grids(
    username: str, grid: Annotated[list[str] | None, typer.Argument(help="the grids (none: no grid)")] = None
) -> None:
    """Set the grids (网格) a user works in, from the jurisdiction's list."""
    from supervision.accounts import service as accounts
    from supervision.db import session_scope

    try:
        with session_scope() as session:
            accounts.set_grids(
                session,
                username,
                grid or [],
                actor="cli",
                now=settings_clock().now(),
                jurisdiction=get_settings().jurisdiction,
            )
    except DomainError as e:
        fail(e)
        return
    err.print(f"{username} works in: {', '.join(grid or []) or '(no grid)'}")


@app.command("list")
def users_list() -> None:
    """Every staff account with its role, grids and whether it is active."""
    from rich.table import Table

    from supervision.accounts import service as accounts
    from supervision.cli.common import out
    from supervision.db import session_scope

    table = Table("username", "name", "role", "grids", "active")
    with session_scope() as session:
        for u in accounts.list_users(session):
            table.add_row(u.username, u.display_name, u.role, ", ".join(u.grids), "yes" if u.active else "no")
    out.print(table)
