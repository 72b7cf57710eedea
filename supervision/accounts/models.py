"""Staff accounts (执法人员账号) and their server-side sessions (revocable at logout)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)


class StaffUser(SQLModel, table=True):
    """执法人员 — a member of the bureau's staff: an enforcement officer (执法人员), a supervisor (审核人), a
    system administrator or an auditor (督查). Officers act only in their grids (网格)."""

    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint("role IN ('officer','supervisor','admin','auditor')", name="role"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    username: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    display_name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    grids: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}")
    )
    """The grids (网格) this user works in; names from the jurisdiction's grid list."""
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
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    """The absolute end: ``staff_session_hours`` after sign-in."""
    last_seen_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    """The last request of the session (to the minute): idle past ``session_idle_minutes``, it ends."""
    revoked_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SignInThrottle(SQLModel, table=True):
    """登录限制 — the failed sign-ins of one subject (``account:<name>``, ``address:<client address>``,
    ``portal:<client address>``) counted since ``window_start``, and the lock they caused. Kept in the
    database so that every server process sees the same count."""

    __tablename__ = "sign_in_throttle"

    subject: str = Field(sa_column=Column(Text, primary_key=True))
    window_start: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    failures: int = Field(sa_column=Column(Integer, nullable=False))
    locked_until: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), index=True)
    )
