"""Staff sign-in: argon2id password hashes, random session tokens stored as SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session

from supervision.accounts import queries
from supervision.accounts.models import StaffSession, StaffUser
from supervision.accounts.permissions import Role
from supervision.core import audit, rulebook
from supervision.core.errors import Conflict, Invalid, NotFound, Problem, Unauthorized
from supervision.settings import get_settings

_hasher = PasswordHasher()
MIN_PASSWORD = 10
ROLES = tuple(r.value for r in Role)


def grid_problems(grids: Sequence[str], jurisdiction: str | None) -> list[Problem]:
    """Every grid that is not a grid of the jurisdiction (``jurisdictions.yaml``)."""
    known = rulebook.grids(jurisdiction or get_settings().jurisdiction)
    return [
        Problem("grids", f"{g} is not a grid of this jurisdiction (known: {', '.join(known)})")
        for g in grids
        if g not in known
    ]


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    now: dt.datetime,
    actor: str,
    grids: Sequence[str] = (),
    jurisdiction: str | None = None,
) -> StaffUser:
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(Problem("password", f"at least {MIN_PASSWORD} characters"))
    if role not in ROLES:
        problems.append(Problem("role", " or ".join(ROLES)))
    problems.extend(grid_problems(grids, jurisdiction))
    if not username or not username.isascii() or " " in username:
        problems.append(Problem("username", "ASCII letters, digits and punctuation, no spaces"))
    if problems:
        raise Invalid("cannot create the user", problems)
    if queries.user_by_name(session, username):
        raise Conflict(f"user {username} exists", "already_exists")
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=_hasher.hash(password),
        active=True,
        created_at=now,
        grids=list(dict.fromkeys(grids)),
    )
    session.add(user)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="create",
        entity="staff_user",
        key=username,
        before=None,
        after={"username": username, "role": role, "display_name": user.display_name, "grids": user.grids},
    )
    session.flush()
    return user


def login(
    session: Session, *, username: str, password: str, now: dt.datetime, hours: int
) -> tuple[str, StaffUser]:
    """Check the password and open a session; returns the token (shown once) and the user."""
    user = queries.user_by_name(session, username)
    try:
        if user is None or not user.active:
            raise VerifyMismatchError
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise Unauthorized("wrong username or password") from None
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        StaffSession(
            token_sha256=token_sha256(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token, user


def user_for_token(session: Session, token: str, now: dt.datetime) -> StaffUser:
    row = queries.user_and_session(session, token_sha256(token))
    if row is None:
        raise Unauthorized("unknown or expired session")
    user, sess = row
    if sess.revoked_at is not None or sess.expires_at <= now or not user.active:
        raise Unauthorized("unknown or expired session")
    return user


def logout(session: Session, token: str, now: dt.datetime) -> None:
    sess = queries.session_by_token(session, token_sha256(token))
    if sess and sess.revoked_at is None:
        sess.revoked_at = now
        session.add(sess)
        session.flush()


def find_user(session: Session, username: str) -> StaffUser | None:
    return queries.user_by_name(session, username)


def _user(session: Session, username: str) -> StaffUser:
    user = queries.user_by_name(session, username)
    if user is None:
        raise NotFound(f"no staff user {username}")
    return user


def _changed(
    session: Session, user: StaffUser, before: dict[str, Any], *, actor: str, now: dt.datetime
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action="change",
        entity="staff_user",
        key=user.username,
        before=before,
        after={"role": user.role, "grids": list(user.grids), "active": user.active},
    )
    session.add(user)
    session.flush()


def disable_user(session: Session, username: str, *, actor: str, now: dt.datetime) -> int:
    """Disable an account; every session of it ends at once. Returns how many sessions were ended."""
    user = _user(session, username)
    before = {"role": user.role, "grids": list(user.grids), "active": user.active}
    user.active = False
    _changed(session, user, before, actor=actor, now=now)
    return queries.end_sessions(session, user.id or 0, now)


def set_password(session: Session, username: str, password: str, *, actor: str, now: dt.datetime) -> None:
    """A new password (argon2id); the user's sessions end (sign in again with the new one)."""
    if len(password) < MIN_PASSWORD:
        raise Invalid("cannot set the password", [Problem("password", f"at least {MIN_PASSWORD} characters")])
    user = _user(session, username)
    user.password_hash = _hasher.hash(password)
    _changed(session, user, {"password": "(changed)"}, actor=actor, now=now)
    queries.end_sessions(session, user.id or 0, now)


def set_grids(
    session: Session, username: str, grids: Sequence[str], *, actor: str, now: dt.datetime, jurisdiction: str
) -> StaffUser:
    """The grids (网格) a user works in, checked against the jurisdiction's list."""
    problems = grid_problems(grids, jurisdiction)
    if problems:
        raise Invalid("cannot set the grids", problems)
    user = _user(session, username)
    before = {"role": user.role, "grids": list(user.grids), "active": user.active}
    user.grids = list(dict.fromkeys(grids))
    _changed(session, user, before, actor=actor, now=now)
    return user


def list_users(session: Session) -> list[StaffUser]:
    return queries.users(session)
