"""Test fixtures: a real PostgreSQL, migrated once per test session (per xdist worker).

Service tests run inside a transaction that is rolled back; HTTP tests talk over real sockets to a uvicorn
server on the same (throw-away) test database and use data of their own (unique credit codes).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import os
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from rules.uscc import check_character
from supervision.cli.serve import server_options
from supervision.core.audit import APP_ROLE
from supervision.core.clock import FixedClock
from supervision.db import embedded_url, make_engine, scratch_database, sqlalchemy_url
from supervision.settings import ROOT, Settings

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = dt.date(2026, 11, 30)


def _server_url() -> str:
    url = os.environ.get("SUPERVISION_TEST_DATABASE_URL")
    if url:
        return sqlalchemy_url(url)
    return embedded_url(ROOT / "var" / "test")


@pytest.fixture(scope="session")
def database_url(worker_id: str) -> Iterator[str]:
    """A fresh database for this test session, migrated to head, dropped at the end."""
    with scratch_database(_server_url(), f"sv_test_{worker_id}_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def app_engine(database_url: str) -> Iterator[Engine]:
    """The engine of the live server: as the service works in production, as the application's role (it owns
    nothing; append-only tables it may only read and insert into) with the service's timeouts. Tests that
    set things up or poke tables directly use ``engine``, the owner's."""
    defaults = Settings()
    eng = make_engine(
        database_url,
        role=APP_ROLE,
        statement_timeout_ms=defaults.statement_timeout_ms,
        lock_timeout_ms=defaults.lock_timeout_ms,
    )
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def fresh_url(database_url: str) -> Iterator[str]:
    """A separate database, migrated, for tests whose processes commit (dropped afterwards)."""
    with scratch_database(database_url, f"{make_url(database_url).database}_x{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="module")
def fresh_engine(fresh_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (savepoints for inner commits)."""
    conn = engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock.on(TODAY)


# ------------------------------------------------------------------------------------------ live server


class LiveServer:
    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        from supervision.main import create_app

        self.clock = FixedClock.on(TODAY)
        # The tests publish list editions of one date after another into one database: more than a week ahead.
        settings = settings or Settings(log_json=True, log_level="WARNING", publish_ahead_days=3650)
        self.app = create_app(engine=engine, clock=self.clock, settings=settings)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, **server_options(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def live(app_engine: Engine) -> Iterator[LiveServer]:
    server = LiveServer(app_engine)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    live.clock.instant = FixedClock.on(TODAY).instant
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


_staff_counter = itertools.count()


def form_token(client: httpx.Client, page: str) -> str:
    """The CSRF token of a page's forms (its hidden field); ``client`` keeps the token's cookie."""
    r = client.get(page, follow_redirects=True)
    match = re.search(r'name="csrf(?:_token)?" value="([^"]+)"', r.text)
    assert match, f"no form token on {page}"
    return match.group(1)


def portal_login(client: httpx.Client, key: str) -> httpx.Response:
    """Sign ``client`` in to the portal with ``key`` as a browser does: the sign-in page, then its form."""
    token = form_token(client, "/portal")
    return client.post("/portal/login", data={"key": key, "csrf": token}, follow_redirects=False)


def sign_in(
    live: LiveServer, engine: Engine, client: httpx.Client, role: str, grids: tuple[str, ...] = ()
) -> str:
    """Create a staff user of ``role`` (working in ``grids``) and sign ``client`` in as them (a bearer
    token); returns the username."""
    from supervision.accounts import service as accounts

    username = f"{role}{os.getpid()}x{next(_staff_counter)}"
    with Session(engine) as s:
        accounts.create_user(
            s,
            username=username,
            password="correct horse battery",
            role=role,
            display_name="测试执法员",
            now=live.clock.now(),
            actor="test",
            grids=grids,
            jurisdiction="440106",
        )
        s.commit()
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    client.headers["X-Test-User"] = username  # for the tests' own reading; the service ignores it
    return username


@pytest.fixture
def staff(live: LiveServer, engine: Engine, http: httpx.Client) -> httpx.Client:
    """An HTTP client signed in as a freshly created officer of the grids 石牌 and 天河南."""
    sign_in(live, engine, http, "officer", ("石牌", "天河南"))
    return http


@pytest.fixture
def supervisor(live: LiveServer, engine: Engine, http: httpx.Client) -> httpx.Client:
    """An HTTP client signed in as a freshly created supervisor (every grid; assigns, approves, publishes)."""
    sign_in(live, engine, http, "supervisor")
    return http


@pytest.fixture
def admin(live: LiveServer, engine: Engine, http: httpx.Client) -> httpx.Client:
    """An HTTP client signed in as a freshly created administrator (accounts, keys, the registry)."""
    sign_in(live, engine, http, "admin")
    return http


# ------------------------------------------------------------------------------------------ builders

_rng = random.Random()
_ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc(prefix: str = "52440106") -> str:
    """A fresh credit code with a correct check character (unique per call, across test processes)."""
    body = prefix + "".join(_rng.choice(_ALNUM) for _ in range(17 - len(prefix)))
    return body + check_character(body)


def example_document(**changes: Any) -> dict[str, Any]:
    """The institution document of ``formats.md`` with a fresh credit code (and any top-level changes)."""
    doc: dict[str, Any] = json.loads((FIXTURES / "institution.json").read_text(encoding="utf-8"))
    doc["uscc"] = new_uscc()
    doc["licence"]["number"] = f"教民1440106{_rng.randrange(10**9):09d}号"
    doc.update(copy.deepcopy(changes))
    return doc


def save_institution(
    session: Session, doc: dict[str, Any] | None = None, *, now: dt.datetime | None = None, **changes: Any
) -> dict[str, Any]:
    """Save an institution through the registry service, as the API and imports do, and flush: ``doc``, or
    else the example document with ``changes``. Saving a changed document again updates it. Returns the
    document saved (its row id: :func:`institution_id`)."""
    from supervision.registry import service as registry

    if doc is None:
        doc = example_document(**changes)
    elif changes:
        raise TypeError("give a document or changes to the example document, not both")
    registry.save_documents(
        session, [registry.validate(doc)], actor="test", now=now or FixedClock.on(TODAY).now()
    )
    return doc


def institution_id(session: Session, uscc: str) -> int:
    """The row id of a saved institution."""
    return int(session.execute(text("SELECT id FROM institution WHERE uscc = :u"), {"u": uscc}).scalar_one())


def decide_over_http(
    proposer: httpx.Client, approver: httpx.Client, engine: Engine, body: dict[str, Any]
) -> dict[str, Any]:
    """A decision made as the service requires, over HTTP: proposed by one person, approved by a second;
    a suspension, revocation or blacklisting is served on the institution, which waives its statement, and
    the proposer then records it. Returns the recorded decision."""
    from supervision.cases import casework

    proposed = proposer.post("/api/v1/decisions", json=body)
    assert proposed.status_code == 202, proposed.text
    pid = proposed.json()["proposal"]["id"]
    approved = approver.post(f"/api/v1/decisions/proposals/{pid}/approve", json={})
    assert approved.status_code == 200, approved.text
    proposal = approved.json()
    if proposal["status"] == "notified":
        with Session(engine) as s:
            casework.waive(s, proposal["uscc"], pid, now=dt.datetime.now(dt.UTC))
            s.commit()
        ref = proposed.json()["case"]["reference"]
        version = proposer.get(f"/api/v1/cases/{ref}").json()["case"]["version"]
        done = proposer.post(f"/api/v1/cases/{ref}/actions", json={"version": version, "action": "decide"})
        assert done.status_code == 200, done.text
        proposal = proposer.get("/api/v1/decisions/proposals", params={"uscc": proposal["uscc"]}).json()[
            "items"
        ][0]
    assert proposal["decision_id"], proposal
    decision = proposer.get(f"/api/v1/decisions/{proposal['decision_id']}").json()
    return dict(decision)
