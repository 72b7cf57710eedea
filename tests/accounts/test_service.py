"""Staff accounts: roles and grids checked when created or changed; disabling a user or changing their
password ends their sessions at once (tested over HTTP); the ``users`` commands."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.core.errors import Invalid
from supervision.settings import ROOT
from tests.cases.conftest import NOW
from tests.conftest import LiveServer, sign_in


def test_roles_and_grids_are_checked_every_problem_at_once(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        accounts.create_user(
            session,
            username="x y",
            password="short",
            role="boss",
            display_name="x",
            now=NOW,
            actor="t",
            grids=("石牌", "火星"),
            jurisdiction="440106",
        )
    assert {p.loc for p in err.value.problems} == {"username", "password", "role", "grids"}
    user = accounts.create_user(
        session,
        username="gridtest",
        password="long enough pw",
        role="officer",
        display_name="x",
        now=NOW,
        actor="t",
        grids=("石牌",),
        jurisdiction="440106",
    )
    with pytest.raises(Invalid, match="grids"):
        accounts.set_grids(session, "gridtest", ["月球"], actor="t", now=NOW, jurisdiction="440106")
    accounts.set_grids(session, "gridtest", ["天河南", "石牌"], actor="t", now=NOW, jurisdiction="440106")
    assert user.grids == ["天河南", "石牌"]


def test_disabling_a_user_ends_their_sessions_at_once(
    live: LiveServer, engine: Engine, http: httpx.Client
) -> None:
    username = sign_in(live, engine, http, "officer", ("石牌",))
    assert http.get("/api/v1/cases").status_code == 200
    with Session(engine) as s:
        ended = accounts.disable_user(s, username, actor="test", now=live.clock.now())
        s.commit()
    assert ended == 1
    assert http.get("/api/v1/cases").status_code == 401
    again = http.post("/api/v1/auth/login", json={"username": username, "password": "correct horse battery"})
    assert again.status_code == 401


def test_a_new_password_ends_the_old_sessions(live: LiveServer, engine: Engine, http: httpx.Client) -> None:
    username = sign_in(live, engine, http, "auditor")
    with Session(engine) as s:
        accounts.set_password(s, username, "a brand new password", actor="test", now=live.clock.now())
        s.commit()
    assert http.get("/api/v1/cases").status_code == 401
    r = http.post("/api/v1/auth/login", json={"username": username, "password": "a brand new password"})
    assert r.status_code == 200


def test_the_users_commands(fresh_url: str) -> None:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": fresh_url, "COLUMNS": "200"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "supervision.cli", "users", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = cli("create", "clio", "--role", "supervisor", stdin="a long password\n")
    assert made.returncode == 0, made.stderr
    bad = cli("create", "clib", "--role", "officer", "--grid", "火星", stdin="a long password\n")
    assert bad.returncode != 0 and "火星 is not a grid" in bad.stderr
    assert cli("set-grids", "clio", "石牌", "沙河").returncode == 0
    assert cli("set-password", "clio", stdin="another long one\n").returncode == 0
    assert cli("disable", "clio").returncode == 0
    listed = cli("list")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if "clio" in line)
    assert "supervisor" in row and "石牌, 沙河" in row and "no" in row
