"""Running the service: ``migrate``, ``serve`` and ``scheduler``."""

from __future__ import annotations

from typing import Annotated

import typer

from supervision.cli.common import err
from supervision.settings import get_settings


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
        log_config=None,
        access_log=False,
    )


def scheduler() -> None:
    """Run the scheduler process (the same as ``python -m scheduler``)."""
    from scheduler.__main__ import main as run

    run([])
