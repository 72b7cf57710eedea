"""Registry tables: institutions (校外培训机构) and what belongs to them, stored relationally.

An institution owns its licence, premises, teachers and courses; a course owns its weekly slots, dated
sessions and prepaid packages. Children are replaced as a whole when the institution document is replaced.
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
    Numeric,
    SmallInteger,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)


def _fk(table: str, index: bool = True) -> Column[int]:
    """A cascading foreign key; ``index=False`` where a unique constraint already leads with the column."""
    return Column(BigInteger, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False, index=index)


def _course_ref() -> Column[int]:
    """A course's slot, session or package: its ``course_id`` has no per-row foreign key. PostgreSQL checks
    a key one row at a time, and these three tables hold most of the registry's rows; triggers installed by
    migration 0008 do the same work once per statement (a row naming a missing course is refused with
    SQLSTATE 23503, deleting or truncating courses deletes their rows, a course's id cannot change)."""
    return Column(BigInteger, nullable=False, index=True)


class Institution(SQLModel, table=True):
    """校外培训机构 — a training institution, identified publicly by its credit code (统一社会信用代码)."""

    __tablename__ = "institution"
    __table_args__ = (
        Index("ix_institution_search_grams", "search_grams", postgresql_using="gin"),
        Index("ix_institution_name_uscc", "name", "uscc"),
        CheckConstraint("nature IN ('non_profit','for_profit')", name="nature"),
        CheckConstraint("status IN ('operating','suspended','closed')", name="status"),
        CheckConstraint(
            "escrow_mode IS NULL OR escrow_mode IN ('bank_custody','risk_reserve')", name="escrow_mode"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    uscc: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    nature: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    district: str = Field(sa_column=Column(Text, nullable=False))
    grid: str = Field(sa_column=Column(Text, nullable=False, index=True))
    address: str = Field(sa_column=Column(Text, nullable=False))
    has_escrow: bool = Field(sa_column=Column(Boolean, nullable=False))
    """False when the document's ``escrow`` is null; true with ``escrow_mode`` possibly null."""
    escrow_mode: str | None = Field(default=None, sa_column=Column(Text))
    escrow_bank: str | None = Field(default=None, sa_column=Column(Text))
    escrow_account_last4: str | None = Field(default=None, sa_column=Column(Text))
    escrow_since: str | None = Field(default=None, sa_column=Column(Text))
    """``escrow.since``: the first supervised month, ``YYYY-MM`` (FEE-STATEMENT-MISSING counts from it)."""
    categories: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """Categories offered (licence scope ∪ course categories), for filtering."""
    search_grams: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    """Single characters and bigrams of the name, for Chinese substring search through a GIN index."""
    doc_sha256: str = Field(sa_column=Column(Text, nullable=False))
    """SHA-256 of the canonical document: an import of identical data changes nothing."""
    version: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Licence(SQLModel, table=True):
    """办学许可证 — the school-running licence and its scope."""

    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("institution_id"),
        CheckConstraint("status IN ('valid','suspended','revoked')", name="status"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("institution.id", ondelete="CASCADE"), nullable=False)
    )
    number: str = Field(sa_column=Column(Text, nullable=False, index=True))
    first_approved_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    issued_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    valid_until: dt.date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    scope_categories: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    scope_stages: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    scope_modes: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    scope_history: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONB))
    """``licence.scope_history`` as given or kept by the registry (oldest first); null when never given."""


class Premises(SQLModel, table=True):
    """培训场所 — premises where offline training happens."""

    __tablename__ = "premises"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(sa_column=_fk("institution", index=False))
    code: str = Field(sa_column=Column(Text, nullable=False))
    address: str = Field(sa_column=Column(Text, nullable=False))
    area_m2: str = Field(sa_column=Column(Numeric, nullable=False))
    max_concurrent_students: int = Field(sa_column=Column(Integer, nullable=False))


class Teacher(SQLModel, table=True):
    """从业人员 — a teacher. Names are never shown to the public."""

    __tablename__ = "teacher"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(sa_column=_fk("institution", index=False))
    code: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    has_teacher_certificate: bool = Field(sa_column=Column(Boolean, nullable=False))
    serving_school_teacher: bool = Field(sa_column=Column(Boolean, nullable=False))


class Course(SQLModel, table=True):
    """培训课程 — a course with its term; slots, sessions and packages hang off it."""

    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    institution_id: int = Field(sa_column=_fk("institution", index=False))
    code: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(sa_column=Column(Text, nullable=False))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    stages: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    mode: str = Field(sa_column=Column(Text, nullable=False))
    class_size_max: int = Field(sa_column=Column(Integer, nullable=False))
    lesson_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    price_per_lesson_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    teacher_codes: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    term_start: dt.date = Field(sa_column=Column(Date, nullable=False))
    term_end: dt.date = Field(sa_column=Column(Date, nullable=False))


class CourseSlot(SQLModel, table=True):
    """每周课时 — a weekly slot (ISO weekday, 1 = Monday)."""

    __tablename__ = "course_slot"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    course_id: int = Field(sa_column=_course_ref())
    weekday: int = Field(sa_column=Column(SmallInteger, nullable=False))
    start: dt.time = Field(sa_column=Column(Time, nullable=False))
    end: dt.time = Field(sa_column=Column(Time, nullable=False))


class CourseSession(SQLModel, table=True):
    """单次课 — a one-off dated lesson."""

    __tablename__ = "course_session"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    course_id: int = Field(sa_column=_course_ref())
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    start: dt.time = Field(sa_column=Column(Time, nullable=False))
    end: dt.time = Field(sa_column=Column(Time, nullable=False))


class PrepaidPackage(SQLModel, table=True):
    """预收费课包 — a prepaid package a course sells."""

    __tablename__ = "prepaid_package"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    course_id: int = Field(sa_column=_course_ref())
    code: str = Field(sa_column=Column(Text, nullable=False))
    lessons: int = Field(sa_column=Column(Integer, nullable=False))
    months: int = Field(sa_column=Column(Integer, nullable=False))
    price_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
