"""Decisions of the bureau: ``decisions propose`` and ``decisions approve`` (two people: one proposes, another
approves; each names the staff account they act as)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from supervision.accounts.permissions import Actor, actor_of
from supervision.cases.schemas import ProposalOut
from supervision.cli.common import fail, settings_clock
from supervision.core.errors import DomainError

app = typer.Typer(help="Decisions of the bureau (处理决定).", no_args_is_help=True)


def _staff(session: Any, username: str) -> Actor:
    from supervision.accounts import service as accounts
    from supervision.core.errors import Invalid, Problem

    user = accounts.find_user(session, username)
    if user is None or not user.active:
        raise Invalid("who acts?", [Problem("by", f"no active staff account {username}")])
    return actor_of(user)


@app.command("propose")
def decisions_propose(
    by: Annotated[str, typer.Option("--by", help="the staff account proposing (an officer or supervisor)")],
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
    officer: Annotated[str, typer.Option(help="the officer who signs (default: the proposer)")] = "",
) -> None:
    """Propose a decision; it is recorded once a second person approves it (``decisions approve``)."""
    from supervision.cases import casework
    from supervision.cases import service as cases
    from supervision.db import session_scope
    from supervision.settings import get_settings

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
            proposal = casework.propose_outside_case(
                session,
                data,
                _staff(session, by),
                now=settings_clock().now(),
                jurisdiction=get_settings().jurisdiction,
            )
            out = ProposalOut.model_validate(proposal, from_attributes=True)
    except DomainError as e:
        fail(e)
        return
    print(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=2))


@app.command("approve")
def decisions_approve(
    proposal_id: Annotated[int, typer.Argument(help="the number of the proposed decision")],
    by: Annotated[str, typer.Option("--by", help="the staff account approving (not the proposer)")],
) -> None:
    """Approve a proposed decision as a second person (a supervisor for suspensions, revocations and
    blacklistings, which are then served on the institution first)."""
    from supervision.cases import casework
    from supervision.db import session_scope
    from supervision.settings import get_settings

    try:
        with session_scope() as session:
            proposal = casework.approve_proposal(
                session,
                proposal_id,
                _staff(session, by),
                version=None,
                now=settings_clock().now(),
                jurisdiction=get_settings().jurisdiction,
            )
            out = ProposalOut.model_validate(proposal, from_attributes=True)
    except DomainError as e:
        fail(e)
        return
    print(json.dumps(out.model_dump(mode="json"), ensure_ascii=False, indent=2))
