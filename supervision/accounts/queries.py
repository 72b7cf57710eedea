"""Staff users and sessions (SQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlmodel import Session, col, select

from supervision.accounts.models import StaffSession, StaffUser


def user_by_name(session: Session, username: str) -> StaffUser | None:
    return session.exec(select(StaffUser).where(StaffUser.username == username)).first()


def user_and_session(session: Session, token_sha256: str) -> tuple[StaffUser, StaffSession] | None:
    """The staff session of a token hash with its user (expired or revoked ones included)."""
    row = session.exec(
        select(StaffUser, StaffSession)
        .join(StaffSession, StaffSession.user_id == StaffUser.id)  # type: ignore[arg-type]
        .where(StaffSession.token_sha256 == token_sha256)
    ).first()
    return None if row is None else (row[0], row[1])


def session_by_token(session: Session, token_sha256: str) -> StaffSession | None:
    return session.exec(select(StaffSession).where(StaffSession.token_sha256 == token_sha256)).first()


def end_sessions(session: Session, user_id: int, now: dt.datetime) -> int:
    """Revoke every open session of a user; how many."""
    result = session.execute(
        text("UPDATE staff_session SET revoked_at = :now WHERE user_id = :u AND revoked_at IS NULL"),
        {"now": now, "u": user_id},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def users(session: Session) -> list[StaffUser]:
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.username))))
