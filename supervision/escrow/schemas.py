"""The escrow statement of the data formats (资金监管报表) as validated at the door, and the answers.

The summary fields are a pydantic model (strict for JSON, where numbers must be numbers; lax for CSV form
fields, which are text). Lines are checked by a hand-written loop in :mod:`supervision.escrow.validation`:
a statement may have 100,000 of them, and every problem must name its line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from supervision.core.inputs import Clean, RowId
from supervision.core.pagination import Page

DEFAULT_DAYS = 365
"""Validity of a new institution API key, in days, unless asked otherwise."""
MAX_DAYS = 3 * 365

Mode = Literal["bank_custody", "risk_reserve"]
Fen = Annotated[int, Field(ge=0, le=10**15)]
Period = Annotated[str, Field(max_length=7, pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
"""A statement's month, ``YYYY-MM`` of this century (prepaid fees were first supervised in 2021; a month of
year 1 or 9999 is bad input, not a statement to store)."""

SUMMARY_FIELDS = (
    "period",
    "mode",
    "opening_balance_fen",
    "receipts_fen",
    "released_fen",
    "refunds_fen",
    "closing_balance_fen",
    "bank_reported_balance_fen",
    "reserve_balance_fen",
    "unearned_liability_fen",
    "amends",
)
LINE_FIELDS = ("date", "type", "amount_fen", "ref", "package_code", "lessons", "months")
REQUIRED_LINE_FIELDS = ("date", "type", "amount_fen", "ref")
CSV_HEADER = ",".join(LINE_FIELDS)

MAX_AMOUNT_FEN = 10**15
"""Ten trillion yuan: far above any real amount, far below BIGINT."""


class StatementSummary(BaseModel):
    """The statement without its lines. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: Period
    mode: Mode
    opening_balance_fen: Fen
    receipts_fen: Fen
    released_fen: Fen
    refunds_fen: Fen
    closing_balance_fen: Fen
    bank_reported_balance_fen: Fen | None
    reserve_balance_fen: Fen | None
    unearned_liability_fen: Fen
    amends: RowId | None = None


Line = tuple[str, str, int, str, str | None, int | None, int | None]
"""A valid line: (date ``YYYY-MM-DD``, type, amount_fen, ref, package_code, lessons, months)."""


@dataclass(frozen=True)
class ParsedStatement:
    """A statement that passed every check of its own: summary, lines, where it came from, and the SHA-256
    of the request (what ``Idempotency-Key`` compares)."""

    summary: StatementSummary
    lines: list[Line]
    source: Literal["json", "csv"]
    request_sha256: str

    def line_dicts(self) -> list[dict[str, Any]]:
        return [line_dict(line) for line in self.lines]


def line_dict(line: Line) -> dict[str, Any]:
    """A line in the shape of the data formats (optional fields left out when empty)."""
    date, type_, amount, ref, package, lessons, months = line
    out: dict[str, Any] = {"date": date, "type": type_, "amount_fen": amount, "ref": ref}
    if package is not None:
        out["package_code"] = package
    if lessons is not None:
        out["lessons"] = lessons
    if months is not None:
        out["months"] = months
    return out


class StatementOut(BaseModel):
    """A stored statement and what its acceptance found (the answer to a submission)."""

    id: int
    period: str
    mode: str
    opening_balance_fen: int
    receipts_fen: int
    released_fen: int
    refunds_fen: int
    closing_balance_fen: int
    bank_reported_balance_fen: int | None
    reserve_balance_fen: int | None
    unearned_liability_fen: int
    amends: int | None
    status: Literal["accepted", "superseded"]
    superseded_by: int | None
    source: str
    line_count: int
    submitted_at: dt.datetime
    accepted_on: dt.date
    reconciliation: dict[str, Any]
    requirement: dict[str, Any]
    findings: list[dict[str, Any]]


class LineOut(BaseModel):
    seq: int
    date: dt.date
    type: str
    amount_fen: int
    ref: str
    package_code: str | None
    lessons: int | None
    months: int | None


class KeyIssued(BaseModel):
    """A newly issued key: ``key`` is shown this once and never again."""

    key: str
    public_id: str
    uscc: str
    label: str
    expires_at: dt.datetime


class KeyOut(BaseModel):
    public_id: str
    uscc: str
    label: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    status: Literal["active", "expired", "revoked"]


class AccountBalance(BaseModel):
    kind: str
    name_zh: str
    balance_fen: int
    recomputed_fen: int


class LedgerOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    balances: list[dict[str, Any]]
    transactions: Page[dict[str, Any]]


class IssueKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(DEFAULT_DAYS, ge=1, le=MAX_DAYS)
    label: Annotated[str, Field(max_length=100), Clean] = ""
