"""Decisions (处理决定) and complaints (举报).

A decision is the record of what the bureau decided about an institution. It is immutable (a database trigger
refuses UPDATE and DELETE): a correction is a new decision, and a ``lift`` ends an earlier one. It names the
institution by its credit code and keeps the name it had when the decision was made, so the record stands even
if the registry entry is later removed or re-registered.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)

DECISION_KINDS = (
    "warning",
    "rectification_order",
    "suspend_licence",
    "revoke_licence",
    "blacklist",
    "lift",
)


class Decision(SQLModel, table=True):
    """处理决定 — a warning (警告), a rectification order (责令限期整改), a licence suspension
    (暂扣办学许可证) or revocation (吊销办学许可证), a blacklisting (列入黑名单), or the lifting (解除) of an
    earlier decision."""

    __tablename__ = "decision"
    __table_args__ = (
        UniqueConstraint("reference"),
        UniqueConstraint("lifts_id"),
        Index("ix_decision_uscc_effective_from", "uscc", "effective_from"),
        CheckConstraint(
            "kind IN ('warning','rectification_order','suspend_licence','revoke_licence','blacklist','lift')",
            name="kind",
        ),
        CheckConstraint("(kind = 'rectification_order') = (deadline IS NOT NULL)", name="deadline"),
        CheckConstraint("until IS NULL OR kind = 'blacklist'", name="until"),
        CheckConstraint("(kind = 'lift') = (lifts_id IS NOT NULL)", name="lifts"),
        CheckConstraint("effective_from >= decided_on", name="effective_from"),
        CheckConstraint("until IS NULL OR until >= effective_from", name="until_order"),
        CheckConstraint("deadline IS NULL OR deadline >= effective_from", name="deadline_order"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    reference: str = Field(sa_column=Column(Text, nullable=False))
    """The decision's document number (文号), e.g. 穗天教监决〔2026〕12号."""
    uscc: str = Field(sa_column=Column(Text, nullable=False))
    institution_name: str = Field(sa_column=Column(Text, nullable=False))
    """The institution's name when the decision was made."""
    kind: str = Field(sa_column=Column(Text, nullable=False))
    basis: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """Rule or conduct IDs of the catalogue the decision rests on."""
    summary: str = Field(sa_column=Column(Text, nullable=False))
    """What was found and decided, in plain words. Public: shown on the institution's page."""
    decided_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    effective_from: dt.date = Field(sa_column=Column(Date, nullable=False))
    deadline: dt.date | None = Field(default=None, sa_column=Column(Date))
    """Rectification orders: the date by which the institution must have put things right."""
    until: dt.date | None = Field(default=None, sa_column=Column(Date))
    """Blacklisting: the last day on the list (inclusive); null for open-ended."""
    lifts_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("decision.id"), nullable=True)
    )
    officer: str = Field(sa_column=Column(Text, nullable=False))
    """The officer who decided (who signs the decision)."""
    recorded_by: str = Field(sa_column=Column(Text, nullable=False))
    """Who entered the record (``staff:…``, ``cli``, a case workflow …)."""
    recorded_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Complaint(SQLModel, table=True):
    """举报 — a complaint from the public about an institution, named or not. The start of a later case."""

    __tablename__ = "complaint"
    __table_args__ = (UniqueConstraint("reference"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    reference: str = Field(sa_column=Column(Text, nullable=False))
    """What the complainant keeps to follow the complaint, e.g. JB20261130-7K3QXM."""
    uscc: str | None = Field(default=None, sa_column=Column(Text, index=True))
    institution_name: str | None = Field(default=None, sa_column=Column(Text))
    text: str = Field(sa_column=Column(Text, nullable=False))
    contact: str | None = Field(default=None, sa_column=Column(Text))
    """Optional; never shown to the public."""
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
