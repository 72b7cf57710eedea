"""Escrow tables: institution keys and portal sessions, statements and their lines, and the ledger.

Statements, lines, ledger transactions and entries are append-only (database triggers). A correction is a
new statement that ``amends`` the one it replaces; the replaced one is never changed: it is *superseded*
because a later statement amends it. The constraints below make the statements of one institution and period
a single chain (one original, each statement amended at most once, amendments in the same institution and
period), so exactly one statement per period is in force: the head of the chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)

MODES = ("bank_custody", "risk_reserve")
LINE_TYPES = ("receipt", "release", "refund")
ACCOUNT_KINDS = (
    "supervised_cash",
    "brought_forward",
    "received",
    "released",
    "refunded",
    "unearned_liability",
    "liability_changes",
    "risk_reserve",
    "reserve_deposits",
)
"""The ledger accounts every institution has; see :mod:`supervision.escrow.ledger` for what each holds."""


def _institution_fk(index: bool = True) -> Column[int]:
    return Column(BigInteger, ForeignKey("institution.id", ondelete="RESTRICT"), nullable=False, index=index)


class InstitutionKey(SQLModel, table=True):
    """机构密钥 — an API key bound to one institution. Only its SHA-256 is kept; the key is shown once.

    A key reads ``sk_<public_id>_<secret>``; the public id finds the row, the hash proves the secret.
    """

    __tablename__ = "institution_key"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("institution.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    public_id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    secret_sha256: str = Field(sa_column=Column(Text, nullable=False))
    label: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_by: str | None = Field(default=None, sa_column=Column(Text))


class PortalSession(SQLModel, table=True):
    """机构门户会话 — a portal sign-in made with a key; server-side so that sign-out (or revoking the key)
    ends it. The token is stored hashed (the forms' CSRF token is the site's one scheme, ``web/csrf.py``)."""

    __tablename__ = "portal_session"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    token_sha256: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    key_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("institution_key.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    """The absolute end: ``portal_session_hours`` after sign-in (and never after its key's end)."""
    last_seen_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    """The last request of the session (to the minute): idle past ``session_idle_minutes``, it ends."""
    revoked_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class EscrowStatement(SQLModel, table=True):
    """资金监管报表 — one institution's statement for one calendar month, as accepted.

    ``reconciliation`` and ``requirement`` are computed when it is accepted and kept with it; the findings of
    the acceptance are in the answer kept by :class:`EscrowIdempotency` (they come from the re-evaluation
    that runs once the statement is stored).
    """

    __tablename__ = "escrow_statement"
    __table_args__ = (
        UniqueConstraint("id", "institution_id"),
        UniqueConstraint("id", "institution_id", "period"),
        UniqueConstraint("amends_id"),
        ForeignKeyConstraint(
            ["amends_id", "institution_id", "period"],
            ["escrow_statement.id", "escrow_statement.institution_id", "escrow_statement.period"],
            name="fk_escrow_statement_amends_same_period",
        ),
        Index("ix_escrow_statement_institution_id_period", "institution_id", "period"),
        Index(
            "uq_escrow_statement_original",
            "institution_id",
            "period",
            unique=True,
            postgresql_where=text("amends_id IS NULL"),
        ),
        CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name="period"),
        CheckConstraint("mode IN ('bank_custody','risk_reserve')", name="mode"),
        CheckConstraint("source IN ('json','csv')", name="source"),
        CheckConstraint(
            "opening_balance_fen >= 0 AND receipts_fen >= 0 AND released_fen >= 0 AND refunds_fen >= 0"
            " AND closing_balance_fen >= 0 AND unearned_liability_fen >= 0"
            " AND coalesce(bank_reported_balance_fen, 0) >= 0 AND coalesce(reserve_balance_fen, 0) >= 0",
            name="amounts",
        ),
        CheckConstraint(
            "closing_balance_fen = opening_balance_fen + receipts_fen - released_fen - refunds_fen",
            name="closing",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(sa_column=_institution_fk(index=False))
    period: str = Field(sa_column=Column(Text, nullable=False))
    mode: str = Field(sa_column=Column(Text, nullable=False))
    opening_balance_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    receipts_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    released_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    refunds_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    closing_balance_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    bank_reported_balance_fen: int | None = Field(default=None, sa_column=Column(BigInteger))
    reserve_balance_fen: int | None = Field(default=None, sa_column=Column(BigInteger))
    unearned_liability_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    amends_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    line_count: int = Field(sa_column=Column(Integer, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    body_sha256: str = Field(sa_column=Column(Text, nullable=False))
    submitted_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    accepted_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    submitted_by: str = Field(sa_column=Column(Text, nullable=False))
    reconciliation: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    requirement: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))


class EscrowStatementLine(SQLModel, table=True):
    """报表明细 — one line of a statement: a receipt, a release or a refund, at position ``seq`` (from 1).

    ``statement_id`` has no per-row foreign key: PostgreSQL checks one row at a time, which made storing a
    100,000-line statement twice as slow. A statement-level trigger checks all the rows of an insert against
    ``escrow_statement`` in one query instead (installed by the migration), and statements can never be
    deleted (append-only), so the reference cannot break later.
    """

    __tablename__ = "escrow_statement_line"
    __table_args__ = (
        PrimaryKeyConstraint("statement_id", "seq"),
        CheckConstraint("type IN ('receipt','release','refund')", name="type"),
        CheckConstraint("amount_fen > 0", name="amount"),
    )

    statement_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    ref: str = Field(sa_column=Column(Text, nullable=False))
    package_code: str | None = Field(default=None, sa_column=Column(Text))
    lessons: int | None = Field(default=None, sa_column=Column(Integer))
    months: int | None = Field(default=None, sa_column=Column(SmallInteger))


class EscrowIdempotency(SQLModel, table=True):
    """幂等记录 — the first answer to a submission, replayed for the same ``Idempotency-Key`` and body.

    Every accepted statement has exactly one: it is also where the findings of its acceptance are kept.
    """

    __tablename__ = "escrow_idempotency"
    __table_args__ = (PrimaryKeyConstraint("institution_id", "key"), UniqueConstraint("statement_id"))

    institution_id: int = Field(sa_column=_institution_fk(index=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    request_sha256: str = Field(sa_column=Column(Text, nullable=False))
    statement_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("escrow_statement.id", ondelete="RESTRICT"), nullable=False)
    )
    status_code: int = Field(sa_column=Column(SmallInteger, nullable=False))
    response: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EscrowAccount(SQLModel, table=True):
    """分户账 — one ledger account of one institution, with its balance kept in step with its entries
    (checked by the database at commit)."""

    __tablename__ = "escrow_account"
    __table_args__ = (
        UniqueConstraint("institution_id", "kind"),
        UniqueConstraint("id", "institution_id"),
        CheckConstraint(
            "kind IN ('supervised_cash','brought_forward','received','released','refunded',"
            "'unearned_liability','liability_changes','risk_reserve','reserve_deposits')",
            name="kind",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(sa_column=_institution_fk(index=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    balance_fen: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))


class EscrowTransaction(SQLModel, table=True):
    """记账凭证 — a balanced set of entries posted for one statement (one per movement type), or the
    reversal of one (``reverses_id``); a transaction is reversed at most once."""

    __tablename__ = "escrow_transaction"
    __table_args__ = (
        UniqueConstraint("id", "institution_id"),
        UniqueConstraint("reverses_id"),
        ForeignKeyConstraint(
            ["statement_id", "institution_id"],
            ["escrow_statement.id", "escrow_statement.institution_id"],
            name="fk_escrow_transaction_statement_same_institution",
        ),
        ForeignKeyConstraint(
            ["reverses_id", "institution_id"],
            ["escrow_transaction.id", "escrow_transaction.institution_id"],
            name="fk_escrow_transaction_reverses_same_institution",
        ),
        CheckConstraint(
            "kind IN ('opening','receipts','releases','refunds','liability','reserve')", name="kind"
        ),
        Index("ix_escrow_transaction_institution_id_id", "institution_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    statement_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    reverses_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    posted_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    memo: str = Field(sa_column=Column(Text, nullable=False))


class EscrowEntry(SQLModel, table=True):
    """分录 — a signed amount (debit positive, credit negative) on one account within one transaction."""

    __tablename__ = "escrow_entry"
    __table_args__ = (
        ForeignKeyConstraint(
            ["transaction_id", "institution_id"],
            ["escrow_transaction.id", "escrow_transaction.institution_id"],
            name="fk_escrow_entry_transaction_same_institution",
        ),
        ForeignKeyConstraint(
            ["account_id", "institution_id"],
            ["escrow_account.id", "escrow_account.institution_id"],
            name="fk_escrow_entry_account_same_institution",
        ),
        CheckConstraint("amount_fen <> 0", name="amount"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    transaction_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    institution_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    account_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
