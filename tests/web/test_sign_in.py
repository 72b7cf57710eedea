"""Sign-in and sessions over HTTP: failures counted per account and per address (in the database), a lock
with its notice, security events in the audit table; sessions that end when idle and after their absolute
lifetime; one CSRF scheme over every cookie-authenticated state change; ``__Host-`` Secure cookies."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.accounts.permissions import GRANTS, Perm, Role
from supervision.core.clock import FixedClock
from supervision.core.errors import Unavailable
from supervision.escrow import keys
from supervision.settings import Settings
from supervision.web.permissions import ROUTES
from tests.conftest import TODAY, LiveServer, form_token, portal_login
from tests.escrow.helpers import institution_with_key

PASSWORD = "correct horse battery"
_n = itertools.count(2)


def own_client(live: LiveServer, **kwargs: object) -> httpx.Client:
    """A client with a loopback source address of its own (sign-in failures are counted per address)."""
    n = next(_n)
    transport = httpx.HTTPTransport(local_address=f"127.4.{n // 250}.{n % 250 + 2}")
    return httpx.Client(base_url=live.url, transport=transport, timeout=30, **kwargs)  # type: ignore[arg-type]


def new_user(engine: Engine, role: str = "officer") -> str:
    username = f"signin{os.getpid()}x{next(_n)}"
    with Session(engine) as s:
        accounts.create_user(
            s,
            username=username,
            password=PASSWORD,
            role=role,
            display_name="测试",
            now=FixedClock.on(TODAY).now(),
            actor="test",
        )
        s.commit()
    return username


def events(engine: Engine, subject: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action FROM audit_log WHERE entity = 'security' AND entity_key = :k ORDER BY id"),
            {"k": subject},
        )
        return [r[0] for r in rows]


@pytest.fixture
def clock(live: LiveServer) -> Iterator[FixedClock]:
    live.clock.instant = FixedClock.on(TODAY).instant
    yield live.clock
    live.clock.instant = FixedClock.on(TODAY).instant


def test_five_failures_lock_the_account_for_fifteen_minutes(
    live: LiveServer, engine: Engine, clock: FixedClock
) -> None:
    username = new_user(engine)
    with own_client(live) as c, own_client(live) as elsewhere:
        for _ in range(4):
            r = c.post("/api/v1/auth/login", json={"username": username, "password": "wrong password"})
            assert r.status_code == 401, r.text
        fifth = c.post("/api/v1/auth/login", json={"username": username, "password": "wrong password"})
        assert fifth.status_code == 429 and fifth.json()["error"] == "sign_in_locked"
        assert fifth.headers["Retry-After"] == "900"
        # locked from every address, the right password too
        right = elsewhere.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert right.status_code == 429 and right.headers["Retry-After"] == "900"
        clock.instant += dt.timedelta(minutes=14)
        assert (
            c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).status_code == 429
        )
        clock.instant += dt.timedelta(minutes=1)
        r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
    assert events(engine, f"account:{username}") == [
        *["sign_in.failed"] * 5,
        "sign_in.locked",
        "sign_in.refused_locked",
        "sign_in.refused_locked",
        "sign_in",
    ]


def test_the_console_says_when_to_try_again(live: LiveServer, engine: Engine, clock: FixedClock) -> None:
    username = new_user(engine)
    with own_client(live) as c:
        token = form_token(c, "/staff/login")
        for _ in range(4):
            r = c.post("/staff/login", data={"username": username, "password": "nope", "csrf_token": token})
            assert r.status_code == 401 and "用户名或密码不正确" in r.text
        r = c.post("/staff/login", data={"username": username, "password": "nope", "csrf_token": token})
        assert r.status_code == 429 and "登录失败次数过多，已暂时锁定" in r.text
        assert r.headers["Retry-After"] == "900"
        until = (clock.now() + dt.timedelta(minutes=15)).astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert until.strftime("%H:%M") in r.text


def test_an_address_is_locked_after_its_own_limit(database_url: str, engine: Engine) -> None:
    from supervision.db import make_engine

    eng = make_engine(database_url)
    server = LiveServer(eng, Settings(log_level="CRITICAL", sign_in_address_limit=3))
    server.start()
    try:
        with own_client(server) as c, own_client(server) as other:
            for n in range(2):
                r = c.post(
                    "/api/v1/auth/login", json={"username": f"nobody{n}{os.getpid()}", "password": "x"}
                )
                assert r.status_code == 401
            third = c.post("/api/v1/auth/login", json={"username": f"nobody9{os.getpid()}", "password": "x"})
            assert third.status_code == 429
            username = new_user(engine)
            blocked = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert blocked.status_code == 429
            fine = other.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert fine.status_code == 200
    finally:
        server.stop()
        eng.dispose()


def test_an_unknown_name_costs_a_password_hash(
    session: Session, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real = accounts._hasher

    class Counting:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, hash_: str, password: str) -> bool:
            verified.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    outcome = accounts.login(
        session, username=f"ghost{os.getpid()}", password="x", now=clock.now(), hours=1, address="192.0.2.1"
    )
    assert outcome.refusal is not None and outcome.refusal.status == 401
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


def test_password_hashes_are_bounded(session: Session, clock: FixedClock) -> None:
    policy = accounts.SignInPolicy(
        account_limit=5,
        address_limit=30,
        window=dt.timedelta(minutes=15),
        lockout=dt.timedelta(minutes=15),
        hashes_at_once=1,
        hash_wait_seconds=0.05,
    )
    with accounts.hashing_slot(policy), pytest.raises(Unavailable):
        accounts.login(session, username="x", password="y", now=clock.now(), hours=1, policy=policy)


# ------------------------------------------------------------------------------------------ sessions


def test_a_staff_session_ends_when_idle_and_after_its_lifetime(
    live: LiveServer, engine: Engine, clock: FixedClock
) -> None:
    username = new_user(engine)
    with own_client(live) as c:
        token = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).json()[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(40):  # used every 20 minutes: alive until 12 hours after sign-in
            clock.instant += dt.timedelta(minutes=20)
            if c.get("/api/v1/dashboard", headers=auth).status_code != 200:
                break
        assert clock.now() - FixedClock.on(TODAY).now() == dt.timedelta(hours=12)
        token = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).json()[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        clock.instant += dt.timedelta(minutes=29)
        assert c.get("/api/v1/dashboard", headers=auth).status_code == 200
        clock.instant += dt.timedelta(minutes=29)
        assert c.get("/api/v1/dashboard", headers=auth).status_code == 200
        clock.instant += dt.timedelta(minutes=30)
        assert c.get("/api/v1/dashboard", headers=auth).status_code == 401


def test_a_portal_session_ends_when_idle(live: LiveServer, engine: Engine, clock: FixedClock) -> None:
    _, key = institution_with_key(engine)
    with own_client(live) as c:
        assert portal_login(c, key).status_code == 303
        clock.instant += dt.timedelta(minutes=20)
        assert c.get("/portal/statements", follow_redirects=False).status_code == 200
        clock.instant += dt.timedelta(minutes=31)
        assert c.get("/portal/statements", follow_redirects=False).status_code == 303


def test_ended_sessions_are_purged(engine: Engine, clock: FixedClock) -> None:
    from scheduler.jobs import JobContext, purge_sessions

    username = new_user(engine)
    _, key = institution_with_key(engine)
    start = clock.now()
    with Session(engine) as s:
        kept = accounts.login(s, username=username, password=PASSWORD, now=start, hours=12)
        idle = accounts.login(
            s, username=username, password=PASSWORD, now=start - dt.timedelta(hours=1), hours=12
        )
        keys.open_session(s, key, start - dt.timedelta(hours=9), 8)
        s.commit()
    assert kept.token and idle.token
    result = purge_sessions(JobContext(engine, clock, Settings()), start)
    assert result["staff_sessions"] >= 1 and result["portal_sessions"] >= 1
    with Session(engine) as s:
        assert accounts.user_for_token(s, kept.token, start).username == username
        with pytest.raises(Exception, match="unknown or expired"):
            accounts.user_for_token(s, idle.token, start)
    with engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM staff_session WHERE last_seen_at <= :t"),
            {"t": start - dt.timedelta(minutes=30)},
        ).scalar_one()
    assert left == 0


# ----------------------------------------------------------------------------------------------- CSRF

VALUES = {"uscc": "91440106MA59XXXX0X", "public_id": "abcdefghij", "kind": "white", "step": "approve"}


UPLOADS = {"POST /portal/statements", "POST /portal/notices/{proposal_id}/{step}", "POST /staff/inspections"}
"""Forms with files: read by their route within its limits, which checks the token among the fields."""


def cookie_client(live: LiveServer, engine: Engine, role: str) -> tuple[httpx.Client, str]:
    """A client signed in to the console by its form (the session in a cookie), with its form token."""
    username = new_user(engine, role)
    c = own_client(live, follow_redirects=False, headers={"Accept": "application/json"})
    token = form_token(c, "/staff/login")
    r = c.post("/staff/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return c, token


def test_every_cookie_authenticated_change_needs_the_token(live: LiveServer, engine: Engine) -> None:
    """Every POST, PUT and DELETE of the permission table that a cookie session (console, portal) or a form
    (sign-in, complaint) reaches: refused 403 without the token, let through with it."""
    _, key = institution_with_key(engine)
    by_role = {role: cookie_client(live, engine, role.value) for role in (Role.SUPERVISOR, Role.ADMIN)}
    portal = own_client(live, follow_redirects=False, headers={"Accept": "application/json"})
    assert portal_login(portal, key).status_code == 303
    portal_token = form_token(portal, "/portal/statements")
    anonymous = own_client(live, follow_redirects=False, headers={"Accept": "application/json"})
    anonymous_token = form_token(anonymous, "/portal")
    checked = []
    changes = [k for k in ROUTES if not k.startswith("GET ")]
    # sign-outs last: they end the session the others need
    for route in sorted(changes, key=lambda k: k.endswith("/logout")):
        method, path = route.split(" ", 1)
        perm = ROUTES[route]
        not_by_cookie = perm in (Perm.PUBLIC, Perm.INSTITUTION, Perm.STAFF_SIGN_IN)
        if path.startswith("/api/") and not_by_cookie and path != "/api/v1/auth/logout":
            continue  # not authenticated by a cookie (public, an institution key, the sign-in itself)
        if perm is Perm.INSTITUTION or path.startswith("/portal/logout"):
            client, token = portal, portal_token
        elif perm in (Perm.PUBLIC, Perm.STAFF_SIGN_IN) and not path.endswith("logout"):
            client, token = anonymous, anonymous_token
        else:
            role = Role.ADMIN if perm in GRANTS[Role.ADMIN] - GRANTS[Role.SUPERVISOR] else Role.SUPERVISOR
            client, token = by_role[role]
        url = re.sub(r"\{(\w+)\}", lambda m: VALUES.get(m.group(1), "1"), path)
        api = path.startswith("/api/")
        if route in UPLOADS:
            refused = client.request(
                method, url, data={"x": "1"}, files={"file": ("a.csv", b"x", "text/csv")}
            )
        else:
            refused = client.request(method, url, json={} if api else None, data=None if api else {"x": "1"})
        assert refused.status_code == 403 and "csrf" in refused.text, (
            route,
            refused.status_code,
            refused.text[:300],
        )
        fields = {"csrf_token": token, "csrf": token}
        if api:
            sent = client.request(method, url, json={}, headers={"X-CSRF-Token": token})
        elif route in UPLOADS:
            sent = client.request(method, url, data=fields, files={"file": ("a.csv", b"x", "text/csv")})
        else:
            sent = client.request(method, url, data=fields)
        assert not (sent.status_code == 403 and "csrf" in sent.text), (route, sent.status_code, sent.text)
        assert sent.status_code != 500, (route, sent.text)
        checked.append(route)
    assert len(checked) >= 20
    assert {"POST /staff/login", "POST /portal/login", "POST /staff/logout", "POST /complaints"} <= set(
        checked
    )
    assert {
        "POST /staff/escrow/{uscc}/keys",
        "POST /staff/lists/publish",
        "POST /api/v1/lists/{kind}/publish",
    } <= set(checked)
    for c in (portal, anonymous, *(c for c, _ in by_role.values())):
        c.close()


def test_a_token_from_elsewhere_is_refused(live: LiveServer, engine: Engine) -> None:
    client, token = cookie_client(live, engine, "supervisor")
    r = client.post(
        "/staff/lists/publish", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    r = client.post("/staff/lists/publish", data={"csrf_token": token[:-2] + "xx"})
    assert r.status_code == 403
    client.close()


def test_secure_cookies_are_host_bound(database_url: str, engine: Engine) -> None:
    from supervision.db import make_engine

    eng = make_engine(database_url)
    server = LiveServer(eng, Settings(log_level="CRITICAL", secure_cookies=True))
    server.start()
    try:
        username = new_user(engine)
        with own_client(server, follow_redirects=False) as c:
            page = c.get("/staff/login")
            cookie = page.headers["set-cookie"]
            assert cookie.startswith("__Host-sv_csrf=") and "Secure" in cookie and "Path=/" in cookie
            token = cookie.split("=", 1)[1].split(";", 1)[0]
            r = c.post(
                "/staff/login",
                data={"username": username, "password": PASSWORD, "csrf_token": token},
                headers={"Cookie": f"__Host-sv_csrf={token}"},
            )
            assert r.status_code == 303, r.text
            session_cookie = next(
                v for v in r.headers.get_list("set-cookie") if v.startswith("__Host-sv_staff=")
            )
            assert "Secure" in session_cookie and "Path=/" in session_cookie and "HttpOnly" in session_cookie
            # a cookie without the prefix is not the session
            value = session_cookie.split("=", 1)[1].split(";", 1)[0]
            plain = c.get("/staff", headers={"Cookie": f"sv_staff={value}"})
            assert plain.status_code == 303
            assert c.get("/staff", headers={"Cookie": f"__Host-sv_staff={value}"}).status_code == 200
    finally:
        server.stop()
        eng.dispose()
