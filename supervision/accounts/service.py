"""Staff sign-in: argon2id password hashes, random session tokens stored as SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlmodel import Session

from supervision.accounts import queries
from supervision.accounts.models import StaffSession, StaffUser
from supervision.accounts.permissions import Role
from supervision.core import audit, rulebook
from supervision.core.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    Problem,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from supervision.settings import Settings, get_settings

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


@dataclass(frozen=True)
class SignInPolicy:
    """How sign-in failures are counted (from the settings): ``account_limit`` failures of one account, or
    ``address_limit`` from one client address, within ``window`` lock it for ``lockout``."""

    account_limit: int
    address_limit: int
    window: dt.timedelta
    lockout: dt.timedelta
    hashes_at_once: int = 2
    hash_wait_seconds: float = 3.0

    @classmethod
    def of(cls, settings: Settings) -> SignInPolicy:
        return cls(
            account_limit=settings.sign_in_account_limit,
            address_limit=settings.sign_in_address_limit,
            window=dt.timedelta(seconds=settings.sign_in_window_seconds),
            lockout=dt.timedelta(seconds=settings.sign_in_lockout_seconds),
            hashes_at_once=settings.password_hashes_at_once,
            hash_wait_seconds=settings.password_hash_wait_seconds,
        )


class SignInLocked(RateLimited):
    """Too many failed sign-ins of an account or from an address (登录已锁定): 429 with ``Retry-After``;
    ``until`` is when the lock ends."""

    def __init__(self, until: dt.datetime, now: dt.datetime) -> None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(
            f"too many failed sign-ins; try again after {until.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}",
            seconds,
        )
        self.code = "sign_in_locked"
        self.until = until


@dataclass(frozen=True)
class SignInOutcome:
    """A sign-in's result: the token (shown once) and the user, or the refusal to answer with (401 wrong
    credentials, 429 locked). A refusal is an answer, not an exception: what it counted and logged is
    committed with the request."""

    token: str | None = None
    user: StaffUser | None = None
    refusal: DomainError | None = None


def check_throttle(session: Session, subjects: list[str], now: dt.datetime) -> None:
    """Refuse (:class:`SignInLocked`) while any of ``subjects`` is locked."""
    until = queries.locked_until(session, subjects, now)
    if until is not None:
        raise SignInLocked(until, now)


def count_failure(
    session: Session, subject: str, limit: int, policy: SignInPolicy, now: dt.datetime, actor: str
) -> dt.datetime | None:
    """Count a failed sign-in of ``subject``; the lock it starts (a ``sign_in.locked`` event), or None."""
    failures, until = queries.count_failure(
        session,
        subject,
        now=now,
        window_start_after=now - policy.window,
        limit=limit,
        lock_until=now + policy.lockout,
    )
    if until is not None and until > now and failures == limit:
        audit.security_event(
            session, at=now, actor=actor, event="sign_in.locked", subject=subject, until=until.isoformat()
        )
    return until if until is not None and until > now else None


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}
_dummy_hash: list[str] = []


@contextmanager
def hashing_slot(policy: SignInPolicy) -> Iterator[None]:
    """One of the process's ``hashes_at_once`` password-hash slots (argon2id takes 64 MiB and tens of ms);
    none free within ``hash_wait_seconds``: :class:`Unavailable` (503 with ``Retry-After``)."""
    with _slots_lock:
        slot = _slots.setdefault(policy.hashes_at_once, threading.BoundedSemaphore(policy.hashes_at_once))
    if not slot.acquire(timeout=policy.hash_wait_seconds):
        raise Unavailable("too many sign-ins at this moment; try again shortly", retry_after_seconds=2)
    try:
        yield
    finally:
        slot.release()


def _verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; without a hash (no such user) a dummy one is checked, so an unknown
    name costs the same time as a wrong password."""
    if password_hash is None:
        with _slots_lock:
            if not _dummy_hash:
                _dummy_hash.append(_hasher.hash(secrets.token_urlsafe(16)))
        password_hash = _dummy_hash[0]
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, InvalidHashError):
        return False


def login(
    session: Session,
    *,
    username: str,
    password: str,
    now: dt.datetime,
    hours: int,
    address: str = "unknown",
    policy: SignInPolicy | None = None,
) -> SignInOutcome:
    """Check the password and open a session. Refused while the account or the address is locked; a failure
    is counted for both (``sign_in_throttle``) and each attempt is a security event. At most
    ``hashes_at_once`` passwords are checked at once (beyond: :class:`Unavailable`)."""
    policy = policy or SignInPolicy.of(get_settings())
    account, place = f"account:{username}", f"address:{address}"
    actor = f"address:{address}"
    try:
        check_throttle(session, [account, place], now)
    except SignInLocked as locked:
        audit.security_event(
            session, at=now, actor=actor, event="sign_in.refused_locked", subject=account, address=address
        )
        return SignInOutcome(refusal=locked)
    user = queries.user_by_name(session, username)
    with hashing_slot(policy):
        matches = _verify(user.password_hash if user is not None else None, password)
    if user is None or not user.active or not matches:
        audit.security_event(
            session, at=now, actor=actor, event="sign_in.failed", subject=account, address=address
        )
        until = count_failure(session, account, policy.account_limit, policy, now, actor)
        until = count_failure(session, place, policy.address_limit, policy, now, actor) or until
        session.flush()
        if until is not None:
            return SignInOutcome(refusal=SignInLocked(until, now))
        return SignInOutcome(refusal=Unauthorized("wrong username or password"))
    queries.clear_failures(session, account)
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        StaffSession(
            token_sha256=token_sha256(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
            last_seen_at=now,
        )
    )
    audit.security_event(
        session, at=now, actor=f"staff:{username}", event="sign_in", subject=account, address=address
    )
    session.flush()
    return SignInOutcome(token=token, user=user)


TOUCH_EVERY = dt.timedelta(minutes=1)
"""A session's ``last_seen_at`` is written at most once a minute (not on every request)."""


def user_for_token(
    session: Session, token: str, now: dt.datetime, idle: dt.timedelta | None = None
) -> StaffUser:
    """The user of a session in force: not revoked, before its absolute end, used within ``idle``
    (``session_idle_minutes``); the request counts as use."""
    idle = idle or dt.timedelta(minutes=get_settings().session_idle_minutes)
    row = queries.user_and_session(session, token_sha256(token))
    if row is None:
        raise Unauthorized("unknown or expired session")
    user, sess = row
    if (
        sess.revoked_at is not None
        or sess.expires_at <= now
        or sess.last_seen_at + idle <= now
        or not user.active
    ):
        raise Unauthorized("unknown or expired session")
    if now - sess.last_seen_at >= TOUCH_EVERY and sess.id is not None:
        queries.touch_session(session, sess.id, now)
    return user


def logout(session: Session, token: str, now: dt.datetime) -> None:
    row = queries.user_and_session(session, token_sha256(token))
    if row is None:
        return
    user, sess = row
    if sess.revoked_at is None:
        sess.revoked_at = now
        session.add(sess)
        audit.security_event(
            session,
            at=now,
            actor=f"staff:{user.username}",
            event="sign_out",
            subject=f"account:{user.username}",
        )
        session.flush()


def purge_ended(session: Session, *, now: dt.datetime, settings: Settings) -> dict[str, int]:
    """Delete ended staff sessions (revoked, past their end, idle) and sign-in counts no longer in force;
    how many of each (the scheduler's nightly purge)."""
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    window = dt.timedelta(seconds=max(settings.sign_in_window_seconds, settings.sign_in_lockout_seconds))
    return {
        "staff_sessions": queries.purge_sessions(session, now=now, idle_since=now - idle),
        "sign_in_counts": queries.purge_throttles(session, now=now, window_start_before=now - window),
    }


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
