"""Running the service: ``migrate``, ``serve`` and ``scheduler``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from supervision.cli.common import err
from supervision.settings import Settings, get_settings


def migrate() -> None:
    """Bring the database schema up to date."""
    from supervision.db import migrate as run

    run()
    err.print("schema is up to date")


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
        **server_options(settings),
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the application (also in the tests' live server): no access log of its own (the
    application logs each request), and ``X-Forwarded-For`` / ``X-Forwarded-Proto`` believed only from
    ``SUPERVISION_TRUSTED_PROXIES`` (uvicorn's default believes any local client, so anyone on the machine
    could choose the address rate limits count)."""
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return {
        "log_config": None,
        "access_log": False,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or "",
        "server_header": False,
    }


def scheduler() -> None:
    """Run the scheduler process (the same as ``python -m scheduler``)."""
    from scheduler.__main__ import main as run

    run([])
