"""Rule runs (规则运行) and the findings (发现问题) they produce, with their lifecycle.

A finding is identified, while it is open, by (institution, rule, subject): at most one open finding per
identity (a partial unique index). A run opens new findings, leaves unchanged ones alone (their first-seen
date and run stay), refreshes the message and trace of ones still produced whose content changed, and
resolves the ones it no longer produces. A resolved finding is kept as history; if the same problem comes
back, a new finding is opened with a new first-seen date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)
from supervision.registry import models as _registry  # noqa: F401  (the institution table referenced)


class RuleRun(SQLModel, table=True):
    """规则运行 — one evaluation of the registry (``full``) or of one institution (``institution``) as of a
    date. Dry runs store nothing and have no row."""

    __tablename__ = "rule_run"
    __table_args__ = (
        CheckConstraint("scope IN ('full','institution')", name="scope"),
        CheckConstraint("scope = 'institution' OR institution_id IS NULL", name="institution"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    scope: str = Field(sa_column=Column(Text, nullable=False))
    institution_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("institution.id", ondelete="SET NULL"), index=True),
    )
    """The institution re-evaluated by an ``institution`` run (null once that institution is deleted)."""
    as_of: dt.date = Field(sa_column=Column(Date, nullable=False))
    jurisdiction: str = Field(sa_column=Column(Text, nullable=False))
    parameter_hash: str = Field(sa_column=Column(Text, nullable=False))
    engine_version: str = Field(sa_column=Column(Text, nullable=False))
    started_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    duration_ms: int | None = Field(default=None, sa_column=Column(Integer))
    institutions: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    """Per rule ID: findings ``produced``, ``opened``, ``refreshed`` and ``resolved``; and ``totals``."""
    uncovered_dates: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    """Calendar dates the run met that the calendar data does not cover."""
    actor: str = Field(sa_column=Column(Text, nullable=False))


class InstitutionRisk(SQLModel, table=True):
    """风险等级 — an institution's early-warning tier as the last evaluation computed it (rules.md "Risk
    tier"): derived data, kept beside the registry row so that a nightly run that changes many tiers writes
    narrow rows with one index, not the registry's. No row means ``green`` (never anything else yet)."""

    __tablename__ = "institution_risk"
    __table_args__ = (
        CheckConstraint("tier IN ('red','yellow','green')", name="tier"),
        {"postgresql_with": {"fillfactor": 70}},
    )

    # No foreign key: a trigger deletes the tier with its institution (migration 0014, as for findings).
    institution_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    tier: str = Field(sa_column=Column(Text, nullable=False))
    because: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """The rule IDs that set the tier (``COMPLAINTS-30D`` for recent complaints), sorted."""
    changed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    """When the tier last changed (not its reasons): a red tier's case is opened once per turn to red."""


FILLFACTOR = 55


class Finding(SQLModel, table=True):
    """发现问题 — one rule broken by one institution (or one of its courses, packages, teachers …).

    ``digest`` is a hash of what a run writes (rule version, severity, messages, legal basis, trace), so a run
    rewrites a finding only when its content changed. ``updated_run_id`` is the run that last wrote it.
    """

    __tablename__ = "finding"
    __table_args__ = (
        Index(
            "uq_finding_open",
            "institution_id",
            "rule_id",
            "subject",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        CheckConstraint("status IN ('open','resolved')", name="status"),
        CheckConstraint("severity IN ('critical','major','minor','notice')", name="severity"),
        CheckConstraint(
            "(status = 'open') = (resolved_on IS NULL AND resolved_run_id IS NULL)", name="resolution"
        ),
        Index("ix_finding_open_list", "severity", "rule_id", "id", postgresql_where=text("status = 'open'")),
        # Room in each page for a new version of most of its rows: a nightly run rewrites the findings whose
        # message names the date, and with the room those rewrites stay in the page (HOT: no index writes).
        {"postgresql_with": {"fillfactor": FILLFACTOR}},
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    # No foreign key to the institution: a per-row check locked the institution's row and cost a first run
    # as much as writing the findings. A trigger deletes an institution's findings with it, and evaluations
    # write only institutions that exist (migration 0014 says how).
    institution_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    rule_id: str = Field(sa_column=Column(Text, nullable=False))
    rule_version: int = Field(sa_column=Column(Integer, nullable=False))
    severity: str = Field(sa_column=Column(Text, nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    message_zh: str = Field(sa_column=Column(Text, nullable=False))
    message_en: str = Field(sa_column=Column(Text, nullable=False))
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    trace: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    digest: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    first_seen_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    # The run ids have no foreign keys: runs are never deleted, every id written is that of the run writing
    # it, and a per-row check of three keys cost a full run as much as writing the findings themselves.
    first_run_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_run_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    resolved_on: dt.date | None = Field(default=None, sa_column=Column(Date))
    resolved_run_id: int | None = Field(default=None, sa_column=Column(BigInteger))
