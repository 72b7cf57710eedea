"""Institution API keys (机构密钥) and the portal sessions opened with them.

A key reads ``sk_<public id>_<secret>``. It is random (``secrets``), shown once when issued, and stored as
its SHA-256: a key has 256 bits of entropy, so a fast hash is right (argon2 is for passwords people choose).
The public id finds the row; the institution a request acts for always comes from the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.accounts.service import SignInPolicy
from supervision.core import audit
from supervision.core.errors import Invalid, NotFound, Problem, Unauthorized
from supervision.escrow import queries
from supervision.escrow.models import InstitutionKey, PortalSession
from supervision.escrow.schemas import DEFAULT_DAYS as DEFAULT_DAYS
from supervision.escrow.schemas import MAX_DAYS as MAX_DAYS
from supervision.settings import get_settings

PREFIX = "sk_"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LEN = 10


@dataclass(frozen=True)
class KeyHolder:
    """Who a request acts for: the institution of a valid key (or of a portal session opened with one)."""

    institution_id: int
    uscc: str
    name: str
    key_id: int
    public_id: str

    @property
    def actor(self) -> str:
        return f"institution:{self.uscc}:key:{self.public_id}"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    """(public id, whole key) when ``key`` is shaped like one of ours."""
    key = key.strip()
    if not key.startswith(PREFIX) or len(key) < len(PREFIX) + _ID_LEN + 2:
        return None
    public_id = key[len(PREFIX) : len(PREFIX) + _ID_LEN]
    if key[len(PREFIX) + _ID_LEN] != "_" or not all(c in _ID_ALPHABET for c in public_id):
        return None
    return public_id, key


def issue(
    session: Session,
    *,
    uscc: str,
    now: dt.datetime,
    actor: str,
    days: int = DEFAULT_DAYS,
    label: str = "",
) -> tuple[str, InstitutionKey]:
    """Issue a key for the institution ``uscc``; returns the key (to show once) and its row."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid("cannot issue the key", [Problem("days", f"from 1 to {MAX_DAYS}")])
    institution = queries.institution_row(session, uscc)
    if institution is None or institution.id is None:
        raise NotFound(f"no institution with credit code {uscc}")
    public_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LEN))
    key = f"{PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    row = InstitutionKey(
        institution_id=institution.id,
        public_id=public_id,
        secret_sha256=_sha256(key),
        label=label or institution.name,
        created_at=now,
        created_by=actor,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(row)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="issue",
        entity="institution_key",
        key=public_id,
        before=None,
        after={
            "uscc": uscc,
            "public_id": public_id,
            "label": row.label,
            "expires_at": row.expires_at.isoformat(),
        },
    )
    session.flush()
    return key, row


def revoke(session: Session, *, public_id: str, now: dt.datetime, actor: str) -> InstitutionKey:
    """Revoke a key (and with it every portal session opened with it). Revoking twice changes nothing."""
    row = queries.key_by_public_id(session, public_id)
    if row is None:
        raise NotFound(f"no key {public_id}")
    if row.revoked_at is not None:
        return row
    row.revoked_at = now
    row.revoked_by = actor
    session.add(row)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="revoke",
        entity="institution_key",
        key=public_id,
        before={"revoked_at": None},
        after={"revoked_at": now.isoformat(), "revoked_by": actor},
    )
    session.flush()
    return row


def list_keys(session: Session, uscc: str | None = None) -> list[tuple[InstitutionKey, str]]:
    """Keys with their institution's credit code, newest first."""
    return queries.keys_with_uscc(session, uscc)


def key_status(row: InstitutionKey, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    return "active"


def holder_for_key(session: Session, key: str, now: dt.datetime) -> KeyHolder:
    """The institution a key acts for; a wrong, expired or revoked key is refused alike."""
    parts = _split(key)
    refused = Unauthorized("unknown, expired or revoked institution key")
    if parts is None:
        raise refused
    public_id, whole = parts
    row = queries.key_holder(session, public_id)
    if row is None or not hmac.compare_digest(row.secret_sha256, _sha256(whole)):
        raise refused
    if row.revoked_at is not None or row.expires_at <= now:
        raise refused
    return KeyHolder(row.institution_id, row.uscc, row.name, row.key_id, row.public_id)


def refused_key_subject(key: str) -> str:
    """What a refused key is logged as: ``key:<public id>`` when it is shaped like one of ours (never the
    secret), else ``key:malformed``."""
    parts = _split(key)
    return f"key:{parts[0]}" if parts else "key:malformed"


def record_refused(engine: Engine, key: str, now: dt.datetime, *, address: str) -> None:
    """A refused key on the API, as a security event committed at once (the request's own work is rolled
    back). Only a key shaped like one of ours goes to the audit table (its public id, never the secret);
    anything else only to the log, so that junk requests cannot grow the append-only table."""
    subject = refused_key_subject(key)
    if subject == "key:malformed":
        audit.security_log.info(
            "key.refused", extra={"event": "key.refused", "actor": f"address:{address}", "subject": subject}
        )
        return
    audit.security_event_committed(
        engine, at=now, actor=f"address:{address}", event="key.refused", subject=subject, door="api"
    )


# ------------------------------------------------------------------------------------------- portal


def open_session(
    session: Session,
    key: str,
    now: dt.datetime,
    hours: int,
    *,
    address: str = "unknown",
    policy: SignInPolicy | None = None,
) -> tuple[str, KeyHolder]:
    """Sign in to the portal with a key: a server-side session row; returns its token (the cookie). Refused
    (:class:`SignInLocked`) while the address is locked; a refused key is counted against the address and
    is a security event, as a staff sign-in."""
    policy = policy or SignInPolicy.of(get_settings())
    place, actor = f"portal:{address}", f"address:{address}"
    accounts.check_throttle(session, [place], now)
    try:
        holder = holder_for_key(session, key, now)
    except Unauthorized:
        subject = refused_key_subject(key)
        audit.security_event(
            session, at=now, actor=actor, event="key.refused", subject=subject, door="portal"
        )
        until = accounts.count_failure(session, place, policy.address_limit, policy, now, actor)
        session.flush()
        if until is not None:
            raise accounts.SignInLocked(until, now) from None
        raise
    token = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            token_sha256=_sha256(token),
            key_id=holder.key_id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
            last_seen_at=now,
        )
    )
    audit.security_event(
        session, at=now, actor=holder.actor, event="portal.sign_in", subject=f"key:{holder.public_id}"
    )
    session.flush()
    return token, holder


TOUCH_EVERY = dt.timedelta(minutes=1)


def holder_for_session(session: Session, token: str, now: dt.datetime, idle: dt.timedelta) -> KeyHolder:
    """The institution of a portal session in force: not revoked, before its end, used within ``idle``;
    a session ends with its key. The request counts as use."""
    row = queries.portal_session_holder(session, _sha256(token), now, now - idle)
    if row is None:
        raise Unauthorized("sign in with your institution key")
    if now - row.last_seen_at >= TOUCH_EVERY:
        queries.touch_portal_session(session, row.session_id, now)
    return KeyHolder(row.institution_id, row.uscc, row.name, row.key_id, row.public_id)


def close_session(session: Session, token: str, now: dt.datetime, actor: str) -> None:
    queries.revoke_portal_session(session, _sha256(token), now)
    audit.security_event(session, at=now, actor=actor, event="portal.sign_out", subject=actor)


def purge_ended_sessions(session: Session, *, now: dt.datetime, idle: dt.timedelta) -> int:
    """Delete ended portal sessions (revoked, past their end, idle); how many."""
    return queries.purge_portal_sessions(session, now=now, idle_since=now - idle)
