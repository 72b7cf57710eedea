"""Staff accounts (执法人员账号) and their server-side sessions (revocable at logout)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Text
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)


class StaffUser(SQLModel, table=True):
    """执法人员 — an officer or administrator of the bureau."""

    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint("role IN ('officer','admin')", name="role"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    username: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    display_name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StaffSession(SQLModel, table=True):
    """A signed-in session; the token is stored hashed, and logout revokes the row."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    token_sha256: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    user_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("staff_user.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
