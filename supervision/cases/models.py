"""Decisions (处理决定) and complaints (举报).

A decision is the record of what the bureau decided about an institution. It is immutable (a database trigger
refuses UPDATE and DELETE): a correction is a new decision, and a ``lift`` ends an earlier one. It names the
institution by its credit code and keeps the name it had when the decision was made, so the record stands even
if the registry entry is later removed or re-registered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


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
    approved_by: str | None = Field(default=None, sa_column=Column(Text))
    """The second person who approved the proposal (two-person rule); null for decisions recorded before
    proposals existed."""
    case_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    """The case the decision was made in."""


COMPLAINT_STATUSES = ("new", "opened", "attached", "rejected")


class Complaint(SQLModel, table=True):
    """举报 — a complaint from the public about an institution, named or not. Its text, contact and date
    are never altered (a database trigger refuses it); triage fills in what staff did with it."""

    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("reference"),
        CheckConstraint(_in("status", COMPLAINT_STATUSES), name="status"),
        CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name="reason"),
        Index("ix_complaint_status_triage_due", "status", "triage_due"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    reference: str = Field(sa_column=Column(Text, nullable=False))
    """What the complainant keeps to follow the complaint, e.g. JB20261130-7K3QXM."""
    uscc: str | None = Field(default=None, sa_column=Column(Text, index=True))
    institution_name: str | None = Field(default=None, sa_column=Column(Text))
    text: str = Field(sa_column=Column(Text, nullable=False))
    contact: str | None = Field(default=None, sa_column=Column(Text))
    """Optional; never shown to the public."""
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    received_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    """The business date it was received (Asia/Shanghai)."""
    triage_due: dt.date = Field(sa_column=Column(Date, nullable=False))
    """Triage within ``case.triage_days`` (3) working days of receipt."""
    grid: str | None = Field(default=None, sa_column=Column(Text))
    """The grid of the matched institution (null while unmatched)."""
    status: str = Field(default="new", sa_column=Column(Text, nullable=False, server_default="new"))
    """``new`` (awaiting triage), ``opened`` (a new case), ``attached`` (to an open case), ``rejected``."""
    case_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    """Why it was rejected (outside the remit, forwarded to 12315 …); shown to the complainant."""
    triaged_by: str | None = Field(default=None, sa_column=Column(Text))
    triaged_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


CASE_STATES = (
    "new",
    "assigned",
    "investigating",
    "proposed",
    "notified",
    "decided",
    "rectifying",
    "verifying",
    "closed",
    "dismissed",
    "merged",
)
OPEN_STATES = CASE_STATES[:8]
CASE_SOURCES = ("finding", "complaint", "inspection", "risk", "manual")


class Case(SQLModel, table=True):
    """案件 — one matter about one institution (or an unregistered operator named by address), from its
    opening (立案) to its closing, worked by the officers of its grid (网格)."""

    __tablename__ = "enforcement_case"
    __table_args__ = (
        UniqueConstraint("reference"),
        CheckConstraint(_in("state", CASE_STATES), name="state"),
        CheckConstraint(_in("source", CASE_SOURCES), name="source"),
        CheckConstraint("uscc IS NOT NULL OR operator_address IS NOT NULL", name="subject"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_enforcement_case_grid_state", "grid", "state"),
        Index("ix_enforcement_case_uscc", "uscc"),
        Index("ix_enforcement_case_assigned_to_state", "assigned_to", "state"),
        Index(
            "uq_enforcement_case_open_risk",
            "uscc",
            unique=True,
            postgresql_where=text("source = 'risk' AND state NOT IN ('closed','dismissed','merged')"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    reference: str = Field(sa_column=Column(Text, nullable=False))
    """The case number (案号), e.g. AJ2026-000123."""
    uscc: str | None = Field(default=None, sa_column=Column(Text))
    institution_name: str | None = Field(default=None, sa_column=Column(Text))
    operator_address: str | None = Field(default=None, sa_column=Column(Text))
    """For an unregistered operator: where it operates (the case can later be linked to a credit code)."""
    grid: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(sa_column=Column(Text, nullable=False))
    basis: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """Rule or conduct IDs the case is about."""
    summary: str = Field(sa_column=Column(Text, nullable=False))
    finding_ids: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    assigned_to: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("staff_user.id"), nullable=True)
    )
    opened_by: str = Field(sa_column=Column(Text, nullable=False))
    opened_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    opened_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    decide_by: dt.date = Field(sa_column=Column(Date, nullable=False))
    """《行政处罚法》 art. 60: decided within ``case.decide_days`` (90) days of being opened."""
    decision_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("decision.id"), nullable=True)
    )
    verification: str | None = Field(default=None, sa_column=Column(Text))
    """The scheduler's re-check after a rectification deadline (rectified / not rectified, and why)."""
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    """How it ended: rectified, not_rectified, decided, or the reason it was dismissed."""
    merged_into_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("enforcement_case.id"), nullable=True)
    )
    follows_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("enforcement_case.id"), nullable=True)
    )
    """A follow-up case (opened when a rectification was not made) names the case it follows."""
    version: int = Field(sa_column=Column(Integer, nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class CaseEvent(SQLModel, table=True):
    """案件记录 — one step of a case: a transition, a note, the institution's statement or the officer's
    answer. Append-only (a database trigger refuses UPDATE, DELETE and TRUNCATE)."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_id_at", "case_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    case_id: int = Field(sa_column=Column(BigInteger, ForeignKey("enforcement_case.id"), nullable=False))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    """``transition``, ``note``, ``statement`` (the institution's), ``answer`` (the officer's),
    ``attachment``."""
    from_state: str | None = Field(default=None, sa_column=Column(Text))
    to_state: str | None = Field(default=None, sa_column=Column(Text))
    note: str | None = Field(default=None, sa_column=Column(Text))
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))


PROPOSAL_STATUSES = ("pending", "returned", "notified", "approved")


class Proposal(SQLModel, table=True):
    """拟处理决定 — a decision proposed by one person and approved by another (two-person rule). An approved
    warning, rectification order or lift becomes a :class:`Decision` at once; an approved suspension,
    revocation or blacklisting is first served on the institution as a notice (事先告知) and becomes a
    decision only after its statement period (陈述申辩期)."""

    __tablename__ = "decision_proposal"
    __table_args__ = (
        CheckConstraint(_in("status", PROPOSAL_STATUSES), name="status"),
        CheckConstraint(
            "kind IN ('warning','rectification_order','suspend_licence','revoke_licence','blacklist','lift')",
            name="kind",
        ),
        CheckConstraint("approved_by IS NULL OR approved_by <> proposed_by", name="two_people"),
        Index("ix_decision_proposal_case_id", "case_id"),
        Index("ix_decision_proposal_uscc_status", "uscc", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    case_id: int = Field(sa_column=Column(BigInteger, ForeignKey("enforcement_case.id"), nullable=False))
    uscc: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    basis: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    reference: str | None = Field(default=None, sa_column=Column(Text))
    """The decision's document number (文号), if chosen when proposed."""
    deadline: dt.date | None = Field(default=None, sa_column=Column(Date))
    until: dt.date | None = Field(default=None, sa_column=Column(Date))
    lifts: str | None = Field(default=None, sa_column=Column(Text))
    """For a lift: the reference of the decision it ends."""
    status: str = Field(sa_column=Column(Text, nullable=False))
    proposed_by: str = Field(sa_column=Column(Text, nullable=False))
    proposed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    approved_by: str | None = Field(default=None, sa_column=Column(Text))
    approved_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    returned_reason: str | None = Field(default=None, sa_column=Column(Text))
    served_on: dt.date | None = Field(default=None, sa_column=Column(Date))
    """The day the notice of the proposed decision was served in the institution's portal."""
    statement_due: dt.date | None = Field(default=None, sa_column=Column(Date))
    """Last day (inclusive) the institution may state its case: ``case.statement_days`` working days."""
    waived_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    hearing_requested: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    statement: str | None = Field(default=None, sa_column=Column(Text))
    """The institution's statement (陈述、申辩), as written."""
    statement_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    answer: str | None = Field(default=None, sa_column=Column(Text))
    """The officer's answer to the statement, kept in the record."""
    decision_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("decision.id"), nullable=True)
    )


INSPECTION_RESULTS = ("pass", "fail", "n/a")


class Inspection(SQLModel, table=True):
    """检查记录 — an on-site inspection by at least two officers (《行政处罚法》 art. 42), with a checklist
    whose items are configuration. Append-only: a correction is a new record."""

    __tablename__ = "inspection"
    __table_args__ = (
        UniqueConstraint("reference"),
        CheckConstraint("cardinality(officers) >= 2", name="two_officers"),
        CheckConstraint("uscc IS NOT NULL OR address IS NOT NULL", name="subject"),
        Index("ix_inspection_uscc_inspected_on", "uscc", "inspected_on"),
        Index("ix_inspection_grid_inspected_on", "grid", "inspected_on"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    reference: str = Field(sa_column=Column(Text, nullable=False))
    uscc: str | None = Field(default=None, sa_column=Column(Text))
    institution_name: str | None = Field(default=None, sa_column=Column(Text))
    address: str | None = Field(default=None, sa_column=Column(Text))
    grid: str = Field(sa_column=Column(Text, nullable=False))
    inspected_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    officers: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """Usernames of the officers present (at least two)."""
    items: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    """``[{"code", "title", "result": "pass"|"fail"|"n/a", "note"}]`` in checklist order."""
    note: str | None = Field(default=None, sa_column=Column(Text))
    case_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, ForeignKey("enforcement_case.id"), nullable=True)
    )
    recorded_by: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Attachment(SQLModel, table=True):
    """证据材料 — a file kept with an inspection, a case or an institution's statement: photos and PDFs,
    their type checked by content, their SHA-256 kept. Never served to the public. Append-only."""

    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint("owner IN ('inspection','case','proposal')", name="owner"),
        CheckConstraint("size_bytes > 0", name="size"),
        Index("ix_attachment_owner_owner_id", "owner", "owner_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    owner: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    filename: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = Field(sa_column=Column(Text, nullable=False))
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(sa_column=Column(Text, nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str = Field(sa_column=Column(Text, nullable=False))
    uploaded_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
