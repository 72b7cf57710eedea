"""List editions (名单版本): what was published, when, with its hash chain, entries and differences.

An edition row is first inserted as a ``claimed`` row for its ``(kind, as_of)`` (a unique constraint: a second
publisher waits on it and then finds it taken), and becomes ``published`` in the same transaction once its
entries, canonical bytes and hash are written. A database trigger refuses any change to a published edition,
and entries and differences are append-only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)

KINDS = ("white", "warning", "black")


class ListEdition(SQLModel, table=True):
    """名单版本 — one published edition of the white (白名单), warning (警示名单) or black (黑名单) list."""

    __tablename__ = "list_edition"
    __table_args__ = (
        UniqueConstraint("kind", "as_of"),
        UniqueConstraint("kind", "seq"),
        CheckConstraint("kind IN ('white','warning','black')", name="kind"),
        CheckConstraint("status IN ('claimed','published')", name="status"),
        CheckConstraint(
            "status = 'claimed' OR (seq IS NOT NULL AND sha256 IS NOT NULL AND published_at IS NOT NULL"
            " AND canonical IS NOT NULL)",
            name="complete",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    as_of: dt.date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    seq: int | None = Field(default=None, sa_column=Column(Integer))
    jurisdiction: str = Field(sa_column=Column(Text, nullable=False))
    published_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    prev_sha256: str | None = Field(default=None, sa_column=Column(Text))
    sha256: str | None = Field(default=None, sa_column=Column(Text))
    canonical: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    """The exact bytes that were hashed (formats.md canonical form, without ``sha256``)."""
    entry_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    entered_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    left_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    changed_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    claimed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))


class ListEntry(SQLModel, table=True):
    """名单条目 — one institution in one edition, as published."""

    __tablename__ = "list_entry"
    __table_args__ = (PrimaryKeyConstraint("edition_id", "uscc"),)

    edition_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The edition (``list_edition.id``). No foreign key: entries are written only by the publication, in
    the transaction that claims the edition, and a per-row key check would cost seconds on 500k entries."""
    uscc: str = Field(sa_column=Column(Text, nullable=False, index=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    licence_number: str | None = Field(default=None, sa_column=Column(Text))
    address: str = Field(sa_column=Column(Text, nullable=False))
    grid: str = Field(sa_column=Column(Text, nullable=False))
    categories: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    since: dt.date = Field(sa_column=Column(Date, nullable=False))


class ListChange(SQLModel, table=True):
    """名单变化 — who entered or left a list between an edition and the one before, and why."""

    __tablename__ = "list_change"
    __table_args__ = (
        PrimaryKeyConstraint("edition_id", "uscc"),
        CheckConstraint("change IN ('entered','left','changed')", name="change"),
    )

    edition_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The edition (``list_edition.id``); written with it, like the entries."""
    uscc: str = Field(sa_column=Column(Text, nullable=False))
    change: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    """The reason on the new edition (entered, changed) or on the previous one (left)."""
    previous_reason: str | None = Field(default=None, sa_column=Column(Text))
    why: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """Machine-readable causes, e.g. ``moved:warning``, ``lifted:<reference>``, ``licence_expired``."""
