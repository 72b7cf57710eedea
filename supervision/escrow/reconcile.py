"""Reconciliation on acceptance (对账): the statement against the bank, against the previous accepted closing
balance, and the supervised money against the reserve requirement; and which FEE findings answer it.

The rule engine owns the rules and their parameters (``escrow.coverage_pct``, ``escrow.reserve_min_fen``,
``statement.due_day``, effective-dated per jurisdiction); nothing here repeats a threshold. The findings
themselves come from the compliance area's re-evaluation of the institution, which runs the engine over the
institution's document and statements in force once the statement is stored.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from rules.engine import Context

STATEMENT_RULES = frozenset(
    {
        "FEE-BALANCE-BREAK",
        "FEE-ESCROW-SHORTFALL",
        "FEE-PREPAY-CAP",
        "FEE-STATEMENT-MISSING",
        "FEE-NO-ESCROW",
        "RISK-COVERAGE-THIN",
        "RISK-RECEIPTS-SURGE",
        "RISK-RELEASE-AHEAD",
        "RISK-LARGE-RELEASE",
    }
)
"""The rules whose findings answer a submission: the breaches and the early warnings about the statement.
FEE-PREPAY-CAP counts only for the statement's own lines (its findings about the packages a course offers
belong to the registry)."""


def statement_document(row: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A statement in the shape of the data formats (what the engine reads), with its id."""
    return {
        "id": row["id"],
        "period": row["period"],
        "mode": row["mode"],
        "opening_balance_fen": row["opening_balance_fen"],
        "receipts_fen": row["receipts_fen"],
        "released_fen": row["released_fen"],
        "refunds_fen": row["refunds_fen"],
        "closing_balance_fen": row["closing_balance_fen"],
        "bank_reported_balance_fen": row["bank_reported_balance_fen"],
        "reserve_balance_fen": row["reserve_balance_fen"],
        "unearned_liability_fen": row["unearned_liability_fen"],
        "amends": row.get("amends_id", row.get("amends")),
        "lines": list(lines),
    }


def reconcile(
    ctx: Context, *, statement: Mapping[str, Any], others: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reconcile ``statement`` (a dict with ``id`` and the summary fields) against ``others``, the other
    statements of the institution in force. Returns (reconciliation, requirement)."""
    period = statement["period"]
    previous = max((s for s in others if s["period"] < period), key=lambda s: s["period"], default=None)
    computed = (
        statement["opening_balance_fen"]
        + statement["receipts_fen"]
        - statement["released_fen"]
        - statement["refunds_fen"]
    )
    bank: dict[str, Any] = {"applies": statement["mode"] == "bank_custody"}
    if bank["applies"]:
        reported = statement["bank_reported_balance_fen"]
        bank.update(
            reported_fen=reported,
            computed_fen=computed,
            difference_fen=reported - computed,
            ok=reported == computed,
        )
    opening: dict[str, Any] = {"opening_fen": statement["opening_balance_fen"]}
    if previous is None:
        opening.update(previous_statement=None, previous_period=None, ok=True)
        opening["note"] = "no earlier statement in force: the opening balance is brought forward"
    else:
        prev_closing = previous["closing_balance_fen"]
        opening.update(
            previous_statement=previous["id"],
            previous_period=previous["period"],
            previous_closing_fen=prev_closing,
            difference_fen=statement["opening_balance_fen"] - prev_closing,
            ok=statement["opening_balance_fen"] == prev_closing,
        )
        if previous["period"] != _month_before(period):
            opening["note"] = f"the previous statement in force is for {previous['period']}"
    requirement = ctx.reserve_requirement(statement_document(statement, ()))
    coverage = {
        "supervised_fen": requirement["supervised_fen"],
        "required_fen": requirement["required_fen"],
        "shortfall_fen": requirement["shortfall_fen"],
        "ok": requirement["shortfall_fen"] == 0,
    }
    reconciliation = {
        "as_of": ctx.as_of.isoformat(),
        "computed_closing_fen": computed,
        "bank": bank,
        "opening": opening,
        "coverage": coverage,
        "ok": bool(bank.get("ok", True) and opening["ok"] and coverage["ok"]),
    }
    return reconciliation, requirement


FINDING_FIELDS = (
    "rule_id",
    "rule_version",
    "severity",
    "subject",
    "message_zh",
    "message_en",
    "legal_basis",
    "trace",
    "first_seen_on",
)


INSTITUTION_RULES = frozenset({"FEE-STATEMENT-MISSING", "FEE-NO-ESCROW"})
"""Escrow rules about the institution as a whole (every month still owed, no account), always part of an
answer."""


def statement_findings(
    findings: Sequence[Mapping[str, Any]], period: str, following: str | None = None
) -> list[dict[str, Any]]:
    """The findings that answer a submission for ``period``, from the institution's open findings after the
    re-evaluation: those about the statement (its period, its lines), a break it causes with the following
    statement in force (``following``), and the institution-wide escrow ones. Findings about other months
    are not this statement's answer (they stay in the institution's findings)."""
    out = []
    for f in findings:
        rule, subject = f["rule_id"], str(f["subject"])
        if rule not in STATEMENT_RULES:
            continue
        about_this = subject == period or subject.startswith(f"{period}/")
        caused_next = rule == "FEE-BALANCE-BREAK" and following is not None and subject == following
        if not (about_this or caused_next or rule in INSTITUTION_RULES):
            continue
        d = {k: f.get(k) for k in FINDING_FIELDS}
        if isinstance(d["first_seen_on"], dt.date):
            d["first_seen_on"] = d["first_seen_on"].isoformat()
        out.append(d)
    return out


def _month_before(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def next_due(ctx: Context) -> dict[str, Any]:
    """The next statement an institution owes as of ``ctx.as_of`` and its deadline (``statement.due_day``)."""
    resolved = ctx.parameter("statement.due_day")
    if resolved is None:
        return {"period": None, "due_on": None, "due_day": None, "parameter": None}
    day = int(resolved.value)
    as_of = ctx.as_of
    first = as_of.replace(day=1)
    prev = first - dt.timedelta(days=1)
    deadline = dt.date(as_of.year, as_of.month, min(day, calendar.monthrange(as_of.year, as_of.month)[1]))
    if as_of > deadline:
        period = f"{as_of.year:04d}-{as_of.month:02d}"
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        deadline = nxt.replace(day=min(day, calendar.monthrange(nxt.year, nxt.month)[1]))
    else:
        period = f"{prev.year:04d}-{prev.month:02d}"
    return {
        "period": period,
        "due_on": deadline.isoformat(),
        "due_day": day,
        "parameter": resolved.trace(),
    }
