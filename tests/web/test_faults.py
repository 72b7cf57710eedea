"""Faults: the database's connections killed under the running service. Requests fail cleanly or are served
on fresh connections, and the service recovers without a restart."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from supervision.core.audit import APP_ROLE
from supervision.db import make_engine
from supervision.settings import Settings
from tests.conftest import LiveServer


def kill_backends(engine: Engine, database: str) -> int:
    """Terminate every other connection to ``database`` (the server's), as an administrator would."""
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": database},
        ).scalar_one()
    return int(killed)


def test_the_service_recovers_when_its_connections_are_killed(fresh_url: str, fresh_engine: Engine) -> None:
    eng = make_engine(fresh_url, role=APP_ROLE, statement_timeout_ms=5_000, lock_timeout_ms=1_000)
    server = LiveServer(eng, Settings(log_level="CRITICAL"))
    server.start()
    database = eng.url.database or ""
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for _ in range(3):
                assert c.get("/api/v1/public/institutions", params={"q": "培训"}).status_code == 200
            assert kill_backends(fresh_engine, database) >= 1
            answers = [c.get("/api/v1/public/institutions", params={"q": "培训"}) for _ in range(5)]
            assert all(r.status_code in (200, 503) for r in answers), [r.status_code for r in answers]
            assert answers[-1].status_code == 200
            assert c.get("/readyz").status_code == 200
    finally:
        server.stop()
        eng.dispose()
