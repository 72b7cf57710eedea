"""Decisions of the bureau: ``decisions record``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from supervision.cli.common import fail, settings_clock
from supervision.core.errors import DomainError

app = typer.Typer(help="Decisions of the bureau (处理决定).", no_args_is_help=True)


@app.command("record")
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
                session,
                data,
                actor="cli:decisions-record",
                officer=officer or "cli",
                now=settings_clock().now(),
            )
    except DomainError as e:
        fail(e)
        return
    print(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=2))
