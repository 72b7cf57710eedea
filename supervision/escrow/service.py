"""Accepting statements (报表受理): idempotency, history checks, storage, posting and reconciliation.

One submission is one database transaction: the statement, its lines, its ledger transactions, its
idempotency record and its audit row are stored together or not at all (the request boundary commits; this
module only flushes). Submissions of one institution are serialised by a transaction-scoped advisory lock,
so of two simultaneous submissions for the same period exactly one is accepted and the other is told why.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from supervision.compliance import service as compliance
from supervision.core import audit, rulebook
from supervision.core.errors import Conflict, Invalid, NotFound, Problem
from supervision.escrow import ledger, queries, reconcile
from supervision.escrow.keys import KeyHolder
from supervision.escrow.schemas import ParsedStatement, StatementOut

log = logging.getLogger("supervision.escrow")

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")


@dataclass(frozen=True)
class Submission:
    """The answer to a submission: HTTP status, body, and whether it is the replay of an earlier answer."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def check_idempotency_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise Invalid(
            "an Idempotency-Key header is required",
            [Problem("Idempotency-Key", "required: a unique value per statement, reused only to retry it")],
        )
    key = key.strip()
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise Invalid(
            "the Idempotency-Key header is not valid",
            [Problem("Idempotency-Key", "1-200 printable ASCII characters, no spaces")],
        )
    return key


def submit(
    session: Session,
    *,
    holder: KeyHolder,
    parsed: ParsedStatement,
    idempotency_key: str,
    now: dt.datetime,
    as_of: dt.date,
    jurisdiction: str,
) -> Submission:
    """Accept a statement that passed its own checks, for the institution of ``holder``."""
    institution_id = holder.institution_id
    queries.lock_institution(session, institution_id)
    prior = queries.idempotent_answer(session, institution_id, idempotency_key)
    if prior is not None:
        if prior.request_sha256 != parsed.request_sha256:
            raise Conflict(
                "this Idempotency-Key was already used for a different statement; nothing was changed",
                "idempotency_key_reused",
            )
        return Submission(prior.status_code, prior.response, replayed=True)

    s = parsed.summary
    heads = queries.heads(session, institution_id)
    current = next((h for h in heads if h["period"] == s.period), None)
    replaced: dict[str, Any] | None = None
    if s.amends is None:
        if current is not None:
            raise Conflict(
                f"a statement for {s.period} is already accepted (id {current['id']}); to correct it, "
                f'submit a new statement with "amends": {current["id"]}',
                "already_accepted",
            )
    else:
        target = queries.own_statement(session, institution_id, s.amends)
        if target is None:
            raise Invalid(
                "the statement to correct was not found",
                [Problem("amends", f"you have no statement {s.amends}")],
            )
        if target["period"] != s.period:
            raise Invalid(
                "a correction must be for the same period",
                [Problem("amends", f"statement {s.amends} is for {target['period']}, not {s.period}")],
            )
        if target["status"] == "superseded":
            raise Conflict(
                f"statement {s.amends} was already corrected by statement {target['superseded_by']}; "
                f"amend {current['id'] if current else target['superseded_by']} instead",
                "already_superseded",
            )
        replaced = current

    statement_id = queries.next_statement_id(session)
    row: dict[str, Any] = {"id": statement_id, **s.model_dump()}
    row["amends_id"] = row.pop("amends")
    others = [h for h in heads if replaced is None or h["id"] != replaced["id"]]
    ctx = rulebook.context(jurisdiction, as_of)
    reconciliation, requirement = reconcile.reconcile(ctx, statement=row, others=others)
    _insert_statement(session, row, parsed, institution_id, holder, now, as_of, reconciliation, requirement)
    queries.copy_lines(session, statement_id, parsed.lines)

    accounts = ledger.ensure_accounts(session, institution_id)
    previous = max((h for h in others if h["period"] < s.period), key=lambda h: h["period"], default=None)
    following = min((h for h in others if h["period"] > s.period), key=lambda h: h["period"], default=None)
    in_force = ledger.active(session, [x["id"] for x in (replaced, following) if x is not None])
    posting = ledger.plan(
        statement=row,
        previous=previous,
        following=following,
        replaced=[t for t in in_force if replaced is not None and t.statement_id == replaced["id"]],
        following_active=[t for t in in_force if following is not None and t.statement_id == following["id"]],
    )
    ledger.write(session, institution_id, posting, accounts, now)

    # The stored findings of the institution (all rules) follow what was just accepted, in this transaction;
    # those about this statement answer the submission. Its lines are those just stored: not read back.
    open_findings = compliance.reevaluate_institution(
        session,
        institution_id,
        as_of,
        holder.actor,
        now=now,
        jurisdiction=jurisdiction,
        known_lines={statement_id: parsed.lines},
    )
    findings = reconcile.statement_findings(
        open_findings, s.period, following["period"] if following else None
    )

    audit.record(
        session,
        at=now,
        actor=holder.actor,
        action="amend" if replaced is not None else "accept",
        entity="escrow_statement",
        key=str(statement_id),
        before=None,
        after={
            "uscc": holder.uscc,
            **{k: v for k, v in row.items() if k != "amends_id"},
            "amends": row["amends_id"],
            "line_count": len(parsed.lines),
            "request_sha256": parsed.request_sha256,
            "reconciled": reconciliation["ok"],
            "findings": [f"{f['rule_id']} {f['subject']}" for f in findings],
        },
    )
    stored = queries.own_statement(session, institution_id, statement_id)
    assert stored is not None
    answer = _out({**stored, "findings": findings})
    queries.store_answer(
        session,
        institution_id,
        idempotency_key,
        request_sha256=parsed.request_sha256,
        statement_id=statement_id,
        answer=orjson.dumps(answer).decode(),
        at=now,
    )
    try:
        session.flush()
    except IntegrityError:  # a constraint the checks above should already have caught
        log.warning("a statement was refused by a constraint", exc_info=True)
        raise Conflict("the statement conflicts with one stored meanwhile; try again", "conflict") from None
    return Submission(201, answer)


def _insert_statement(
    session: Session,
    row: dict[str, Any],
    parsed: ParsedStatement,
    institution_id: int,
    holder: KeyHolder,
    now: dt.datetime,
    as_of: dt.date,
    reconciliation: dict[str, Any],
    requirement: dict[str, Any],
) -> None:
    queries.insert_statement(
        session,
        {
            **row,
            "institution_id": institution_id,
            "line_count": len(parsed.lines),
            "source": parsed.source,
            "body_sha256": parsed.request_sha256,
            "submitted_at": now,
            "accepted_on": as_of,
            "submitted_by": holder.actor,
            "reconciliation": orjson.dumps(reconciliation).decode(),
            "requirement": orjson.dumps(requirement).decode(),
        },
    )


def view(session: Session, institution_id: int, statement_id: int) -> dict[str, Any]:
    """A statement of the institution as the API shows it; another institution's is not found."""
    row = queries.own_statement(session, institution_id, statement_id)
    if row is None:
        raise NotFound(f"you have no statement {statement_id}")
    return _out(row)


def staff_view(session: Session, statement_id: int) -> dict[str, Any]:
    row = queries.statement(session, statement_id)
    if row is None:
        raise NotFound(f"no statement {statement_id}")
    return _out(row)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return StatementOut.model_validate(row).model_dump(mode="json")


def institution_for_staff(session: Session, uscc: str) -> dict[str, Any]:
    found = queries.institution_by_uscc(session, uscc)
    if found is None:
        raise NotFound(f"no institution with credit code {uscc}")
    return found


def requirement_now(
    session: Session, institution_id: int, *, as_of: dt.date, jurisdiction: str
) -> dict[str, Any]:
    """What the institution must hold now, computed from its latest statement in force, and what is due."""
    ctx = rulebook.context(jurisdiction, as_of)
    heads = queries.heads(session, institution_id)
    latest = heads[-1] if heads else None
    return {
        "as_of": as_of.isoformat(),
        "latest_statement": latest["id"] if latest else None,
        "period": latest["period"] if latest else None,
        "requirement": ctx.reserve_requirement(reconcile.statement_document(latest, ())) if latest else None,
        "next_statement": reconcile.next_due(ctx),
    }


# ------------------------------------------------------------------------------------------------ reads


def list_statements(
    session: Session, institution_id: int, *, limit: int, offset: int, period: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """An institution's statements as the API shows them, newest period first."""
    total, rows = queries.statements(session, institution_id, limit=limit, offset=offset, period=period)
    return total, [_out(r) for r in rows]


def statement_lines(
    session: Session, institution_id: int, statement_id: int, *, limit: int, offset: int, type_: str | None
) -> tuple[int, list[dict[str, Any]]]:
    """A page of a statement's lines; another institution's statement is not found."""
    if queries.own_statement(session, institution_id, statement_id) is None:
        raise NotFound(f"you have no statement {statement_id}")
    return queries.lines(session, statement_id, limit=limit, offset=offset, type_=type_)


def statements_in_force(session: Session, institution_id: int) -> list[dict[str, Any]]:
    return queries.heads(session, institution_id)


def ledger_page(
    session: Session, institution_id: int, *, limit: int, offset: int, statement_id: int | None = None
) -> dict[str, Any]:
    """The institution's accounts (stored beside recomputed balances) and a page of its transactions."""
    total, rows = queries.transactions(
        session, institution_id, limit=limit, offset=offset, statement_id=statement_id
    )
    return {"balances": ledger.balances(session, institution_id), "total": total, "transactions": rows}


def balances(session: Session, institution_id: int) -> list[dict[str, Any]]:
    return ledger.balances(session, institution_id)


def open_findings(session: Session, institution_id: int) -> list[dict[str, Any]]:
    return queries.open_findings(session, institution_id)


def balance_series(session: Session, institution_id: int) -> list[dict[str, Any]]:
    return queries.series(session, institution_id)


def overview(session: Session, *, q: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    return queries.overview(session, q=q, limit=limit, offset=offset)


# ------------------------------------------------------------------------------------ accepting a statement


def accept_statement(
    session: Session,
    *,
    holder: KeyHolder,
    idempotency_key: str | None,
    data: bytes,
    csv_form: dict[str, str] | None = None,
    filename: str = "statement.csv",
    now: dt.datetime,
    as_of: dt.date,
    jurisdiction: str,
) -> Submission:
    """Accept a statement as sent (报表受理): the Idempotency-Key checked, the body parsed (JSON, or CSV when
    ``csv_form`` carries the summary fields of the upload, empty for a bare CSV body), then submitted. The one
    way in for the JSON API, the CSV API and the portal's upload."""
    from supervision.escrow import validation

    key = check_idempotency_key(idempotency_key)
    if csv_form is None:
        parsed = validation.parse_json(data, as_of)
    else:
        parsed = validation.parse_csv(data, csv_form, as_of, filename)
    return submit(
        session,
        holder=holder,
        parsed=parsed,
        idempotency_key=key,
        now=now,
        as_of=as_of,
        jurisdiction=jurisdiction,
    )
