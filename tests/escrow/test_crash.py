"""A server killed (SIGKILL) in the middle of an upload leaves nothing half-stored.

The server runs as its own process; it is killed once while the body is still arriving, and once while it is
writing: the test holds a lock on the idempotency table (written last), waits until the server's transaction
has stored the statement, its lines and its ledger entries and is blocked on that lock (SHARE mode lets the
server read the table but not insert into it), and kills it there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from supervision.settings import ROOT
from tests.escrow.conftest import stored_counts
from tests.escrow.helpers import idem, institution_with_key, line, statement, to_csv

APP_NAME = "sv_escrow_crash_test"


class Server:
    def __init__(self, database_url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        url = make_url(database_url).update_query_dict({"application_name": APP_NAME})
        env = {
            **os.environ,
            "SUPERVISION_DATABASE_URL": url.render_as_string(hide_password=False),
            "SUPERVISION_TODAY": "2026-11-30",
            "SUPERVISION_LOG_LEVEL": "WARNING",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "supervision.main:app_factory",
             "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    srv = Server(database_url)
    yield srv
    if srv.proc.poll() is None:
        srv.kill()


def wait_for(condition: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


def big_csv(n: int) -> bytes:
    lines = [line(f"2026-10-{1 + i % 28:02d}", "receipt", 100 + i % 5000, ref=f"K-{i:06d}") for i in range(n)]
    return to_csv(statement("2026-10", 0, lines)).encode()


def backend_gone(engine: Engine) -> bool:
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND state <> 'idle'"),
            {"a": APP_NAME},
        ).scalar_one()
    return bool(n == 0)


NOTHING = dict.fromkeys(("statements", "lines", "transactions", "entries", "idempotency"), 0)


def test_killed_while_the_body_arrives_stores_nothing(server: Server, engine: Engine) -> None:
    doc, key = institution_with_key(engine)
    data = big_csv(50_000)
    sent = threading.Event()

    def slowly() -> Iterator[bytes]:
        for i in range(0, len(data), 64 * 1024):
            if i > len(data) // 2:
                sent.set()
                time.sleep(0.2)
            yield data[i : i + 64 * 1024]

    def upload() -> None:
        with contextlib.suppress(httpx.TransportError):  # the server dies: expected
            httpx.post(
                f"{server.url}/api/v1/escrow/statements/csv",
                content=slowly(),
                headers={"X-API-Key": key, "Idempotency-Key": idem(), "Content-Type": "text/csv"},
                timeout=60,
            )

    thread = threading.Thread(target=upload)
    thread.start()
    assert sent.wait(30)
    server.kill()
    thread.join(60)
    wait_for(lambda: backend_gone(engine))
    assert stored_counts(engine, doc["uscc"]) == NOTHING


def test_killed_while_writing_stores_nothing(server: Server, engine: Engine) -> None:
    doc, key = institution_with_key(engine)
    data = big_csv(100_000)
    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE escrow_idempotency IN SHARE MODE"))

        def upload() -> None:
            with contextlib.suppress(httpx.TransportError):
                httpx.post(
                    f"{server.url}/api/v1/escrow/statements/csv",
                    content=data,
                    headers={"X-API-Key": key, "Idempotency-Key": idem(), "Content-Type": "text/csv"},
                    timeout=120,
                )

        thread = threading.Thread(target=upload)
        thread.start()

        def writing_and_blocked() -> bool:
            with engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT wait_event_type, query FROM pg_stat_activity"
                        " WHERE application_name = :a AND state = 'active'"
                    ),
                    {"a": APP_NAME},
                ).first()
            return (
                row is not None
                and row.wait_event_type == "Lock"
                and "INSERT INTO escrow_idempotency" in row.query
            )

        wait_for(writing_and_blocked, 120)
        # the server's open transaction holds the write locks of the statement, its lines and its entries
        with engine.connect() as conn:
            written = set(
                conn.execute(
                    text(
                        "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        " JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE a.application_name = :a AND l.mode = 'RowExclusiveLock' AND l.granted"
                    ),
                    {"a": APP_NAME},
                ).scalars()
            )
        assert {"escrow_statement", "escrow_statement_line", "escrow_transaction", "escrow_entry"} <= written
        server.kill()
        blocker.rollback()
    thread.join(60)
    wait_for(lambda: backend_gone(engine))
    assert stored_counts(engine, doc["uscc"]) == NOTHING
