"""Builders for the cases tests: staff users of every role (stored directly: these tests never sign in, so
no password is hashed) and registered institutions."""

from __future__ import annotations

import itertools
import os
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from supervision.accounts.models import StaffUser
from supervision.accounts.permissions import Actor, actor_of
from supervision.core.clock import FixedClock
from tests.conftest import TODAY, save_institution

NOW = FixedClock.on(TODAY).now()
_n = itertools.count()


def user(
    session: Session, role: str, grids: tuple[str, ...] = ("石牌", "天河南"), active: bool = True
) -> Actor:
    """A staff user of ``role``; officers work in ``grids`` (the example institution's grid is 石牌)."""
    name = f"{role}{next(_n)}x{id(session) % 10000}"
    u = StaffUser(
        username=name,
        display_name=f"{name}显示名",
        role=role,
        password_hash="-",
        active=active,
        created_at=NOW,
        grids=list(grids) if role == "officer" else [],
    )
    session.add(u)
    session.flush()
    return actor_of(u)


@pytest.fixture
def people(session: Session) -> dict[str, Actor]:
    """Two officers of 石牌 and 天河南, one of 五山 (an outsider), two supervisors, an admin, an auditor."""
    return {
        "officer": user(session, "officer"),
        "officer2": user(session, "officer"),
        "outsider": user(session, "officer", ("五山",)),
        "supervisor": user(session, "supervisor"),
        "supervisor2": user(session, "supervisor"),
        "admin": user(session, "admin"),
        "auditor": user(session, "auditor"),
    }


def institution(session: Session, **changes: Any) -> str:
    """A registered institution (the example document with ``changes``); its credit code."""
    return str(save_institution(session, now=NOW, **changes)["uscc"])


def client_as(live: Any, engine: Any, role: str, grids: tuple[str, ...] = ()) -> httpx.Client:
    """An HTTP client signed in (bearer token) as a new staff user of ``role`` working in ``grids``."""
    from supervision.accounts import service as accounts

    username = f"api{role}{next(_n)}x{os.getpid()}"
    with Session(engine) as s:
        accounts.create_user(
            s,
            username=username,
            password="correct horse battery",
            role=role,
            display_name=f"{username}显示名",
            now=live.clock.now(),
            actor="test",
            grids=grids,
            jurisdiction="440106",
        )
        s.commit()
    client = httpx.Client(base_url=live.url, timeout=30)
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.headers["X-Test-User"] = username
    return client
