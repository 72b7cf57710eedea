"""The case state machine (案件流程): the one table of allowed transitions, and the one function that moves a
case (``architecture.md`` habit 5, ``enforcement.md`` Cases).

:func:`transition` refuses what the table does not allow (409 naming the current state), checks who may make
the move (403), checks the case's version so that two officers acting at once get one success and one 409,
stamps the time, writes an append-only case event and an audit row. The business steps that come with a move
(a proposal approved, a notice served, a follow-up case opened) are the service's; they call this function
for the move itself, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from supervision.accounts.permissions import Actor, Role, in_grid
from supervision.cases import queries
from supervision.cases.models import Case, CaseEvent
from supervision.core import audit
from supervision.core.errors import Conflict, Forbidden, Invalid, Problem


class By(StrEnum):
    """Who may make a move."""

    SUPERVISOR = "supervisor"
    ASSIGNED = "assigned"
    """The assigned officer (a supervisor may act for them: supervisors may do what officers may)."""
    SECOND = "second"
    """A second person: not the one who proposed (which roles, per decision kind, the service checks)."""
    SYSTEM = "system"
    """Automatic: the scheduler or the service itself, never a person's request."""


@dataclass(frozen=True)
class Move:
    by: By
    needs: str
    """What the move needs, in words (shown in the console and in refusals)."""
    reason: bool = False
    """A note is required (a reason for returning, dismissing or merging)."""


OPEN = ("new", "assigned", "investigating", "proposed", "notified", "decided", "rectifying", "verifying")

TRANSITIONS: dict[tuple[str, str], Move] = {
    ("new", "assigned"): Move(By.SUPERVISOR, "an officer whose grids include the institution's grid"),
    ("new", "investigating"): Move(By.ASSIGNED, "the officer takes the case"),
    ("assigned", "investigating"): Move(By.ASSIGNED, "the assigned officer starts the investigation"),
    ("investigating", "proposed"): Move(
        By.ASSIGNED, "a proposed decision (kind, basis IDs, summary, deadline for an order)"
    ),
    ("proposed", "investigating"): Move(By.SUPERVISOR, "a reason (returned for more work)", reason=True),
    ("proposed", "decided"): Move(By.SECOND, "approval of a warning, rectification order or lift"),
    ("proposed", "notified"): Move(
        By.SECOND, "approval of a suspension, revocation or blacklisting: the notice is served"
    ),
    ("notified", "decided"): Move(
        By.ASSIGNED, "the statement period has ended or was waived; any statement is answered"
    ),
    ("notified", "investigating"): Move(
        By.ASSIGNED, "the institution's statement or hearing changed the facts", reason=True
    ),
    ("decided", "rectifying"): Move(By.SYSTEM, "the decision is a rectification order with a deadline"),
    ("rectifying", "verifying"): Move(By.SYSTEM, "the day after the deadline; the re-check is attached"),
    ("verifying", "closed"): Move(By.ASSIGNED, "outcome rectified or not_rectified"),
    ("decided", "closed"): Move(By.ASSIGNED, "a decision with no deadline"),
    ("investigating", "dismissed"): Move(
        By.SUPERVISOR,
        "a reason (no violation found, outside remit, duplicate), asked by the assigned officer",
        reason=True,
    ),
    **{
        (state, "merged"): Move(By.SUPERVISOR, "the case it is merged into (same institution)", reason=True)
        for state in OPEN
    },
}
"""Every allowed move. Anything not here is refused."""


def allowed(state: str) -> dict[str, Move]:
    """The moves out of ``state`` (for the console's buttons)."""
    return {to: move for (frm, to), move in TRANSITIONS.items() if frm == state}


def may_move(
    actor: Actor, case: Case, move: Move, *, assignee: str | None, proposer: str | None = None
) -> str | None:
    """``None`` when ``actor`` may make ``move`` on ``case`` (assigned to the user named ``assignee``),
    else why not."""
    if move.by is By.SYSTEM:
        return None if actor.is_system else "this step is automatic"
    if actor.is_system:
        return None
    if actor.role not in (Role.OFFICER, Role.SUPERVISOR):
        return f"a {actor.role} does not work cases"
    if not in_grid(actor, case.grid):
        return f"case {case.reference} is in grid {case.grid}, not one of yours"
    if move.by is By.SUPERVISOR and actor.role is not Role.SUPERVISOR:
        return "only a supervisor may do this"
    if move.by is By.ASSIGNED and actor.role is not Role.SUPERVISOR:
        if assignee is None:
            return None if case.state == "new" else "the case is assigned to nobody; ask a supervisor"
        if assignee != actor.username:
            return "only the assigned officer (or a supervisor) may do this"
    if move.by is By.SECOND and proposer is not None and proposer == actor.name:
        return "the person who proposed a decision cannot approve it (two-person rule)"
    return None


def transition(
    session: Session,
    case: Case,
    to: str,
    actor: Actor,
    *,
    now: dt.datetime,
    version: int | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    proposer: str | None = None,
    changes: dict[str, Any] | None = None,
) -> Case:
    """Move ``case`` to ``to`` as ``actor``; flushes. ``version`` is the version the actor saw (the console
    and the API send it); ``changes`` are other columns set in the same update (the assignee, the outcome).

    Raises :class:`Conflict` (409) for a move the table does not allow or a stale version,
    :class:`Forbidden` (403) when the actor may not make it, :class:`Invalid` when a reason is missing.
    """
    frm = case.state
    move = TRANSITIONS.get((frm, to))
    if move is None:
        moves = ", ".join(sorted(allowed(frm))) or "none (the case is finished)"
        raise Conflict(
            f"case {case.reference} is {frm}: it cannot move to {to} (allowed from {frm}: {moves})",
            "invalid_transition",
        )
    assignee = queries.username_of(session, case.assigned_to) if case.assigned_to else None
    refusal = may_move(actor, case, move, assignee=assignee, proposer=proposer)
    if refusal is not None:
        raise Forbidden(refusal)
    if move.reason and not (note and note.strip()):
        raise Invalid(f"moving case {case.reference} to {to} needs a reason", [Problem("note", move.needs)])
    seen = case.version if version is None else version
    before = {"state": frm, "version": case.version, **{k: getattr(case, k) for k in (changes or {})}}
    closing = to in ("closed", "dismissed", "merged")
    updated = queries.move_case(
        session,
        case_id=case.id or 0,
        version=seen,
        state=to,
        now=now,
        closed_at=now if closing else None,
        changes=changes or {},
    )
    if not updated:
        session.refresh(case)
        raise Conflict(
            f"case {case.reference} was changed by someone else (now {case.state}, version {case.version});"
            " reload it and try again",
            "stale_version",
        )
    session.refresh(case)
    session.add(
        CaseEvent(
            case_id=case.id or 0,
            at=now,
            actor=actor.name,
            kind="transition",
            from_state=frm,
            to_state=to,
            note=note.strip() if note else None,
            data=data,
        )
    )
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action=f"case:{frm}->{to}",
        entity="case",
        key=case.reference,
        before=_jsonable(before),
        after=_jsonable({"state": to, "version": case.version, "note": note, **(changes or {})}),
    )
    session.flush()
    return case


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in values.items()}
