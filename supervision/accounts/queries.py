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


# ------------------------------------------------------------------------------------ sign-in throttle


def locked_until(session: Session, subjects: list[str], now: dt.datetime) -> dt.datetime | None:
    """The latest lock in force over any of ``subjects``, or None."""
    value = session.execute(
        text(
            "SELECT max(locked_until) FROM sign_in_throttle WHERE subject = ANY(:s) AND locked_until > :now"
        ),
        {"s": subjects, "now": now},
    ).scalar_one()
    return value if isinstance(value, dt.datetime) else None


def count_failure(
    session: Session,
    subject: str,
    *,
    now: dt.datetime,
    window_start_after: dt.datetime,
    limit: int,
    lock_until: dt.datetime,
) -> tuple[int, dt.datetime | None]:
    """Count one failed sign-in of ``subject`` (a window that started at or before ``window_start_after``
    starts again); at ``limit`` failures the subject is locked until ``lock_until``. Atomic under
    concurrency. Returns the failures in the window and the lock in force."""
    row = session.execute(
        text(
            "INSERT INTO sign_in_throttle AS t (subject, window_start, failures, locked_until)"
            " VALUES (:s, :now, 1, CASE WHEN 1 >= :limit THEN CAST(:until AS timestamptz) END)"
            " ON CONFLICT (subject) DO UPDATE SET"
            "  failures = CASE WHEN t.window_start <= :stale THEN 1 ELSE t.failures + 1 END,"
            "  window_start = CASE WHEN t.window_start <= :stale THEN :now ELSE t.window_start END,"
            "  locked_until = CASE"
            "   WHEN (CASE WHEN t.window_start <= :stale THEN 1 ELSE t.failures + 1 END) >= :limit"
            "   THEN CAST(:until AS timestamptz) ELSE t.locked_until END"
            " RETURNING failures, locked_until"
        ),
        {"s": subject, "now": now, "stale": window_start_after, "limit": limit, "until": lock_until},
    ).one()
    return int(row.failures), row.locked_until


def clear_failures(session: Session, subject: str) -> None:
    session.execute(text("DELETE FROM sign_in_throttle WHERE subject = :s"), {"s": subject})


def purge_throttles(session: Session, *, now: dt.datetime, window_start_before: dt.datetime) -> int:
    """Forget counts whose window is over and whose lock (if any) has ended; how many."""
    result = session.execute(
        text(
            "DELETE FROM sign_in_throttle WHERE window_start < :old"
            " AND (locked_until IS NULL OR locked_until <= :now)"
        ),
        {"old": window_start_before, "now": now},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------- sessions


def touch_session(session: Session, session_id: int, now: dt.datetime) -> None:
    session.execute(
        text("UPDATE staff_session SET last_seen_at = :now WHERE id = :id AND last_seen_at < :now"),
        {"now": now, "id": session_id},
    )


def purge_sessions(session: Session, *, now: dt.datetime, idle_since: dt.datetime) -> int:
    """Delete the staff sessions that have ended (revoked, past their end, or idle since ``idle_since``)."""
    result = session.execute(
        text(
            "DELETE FROM staff_session WHERE revoked_at IS NOT NULL OR expires_at <= :now"
            " OR last_seen_at <= :idle"
        ),
        {"now": now, "idle": idle_since},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
