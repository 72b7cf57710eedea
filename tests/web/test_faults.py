"""Faults: the database's connections killed under the running service. Requests fail cleanly or are served
on fresh connections, and the service recovers without a restart."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from supervision.core.audit import APP_ROLE
from supervision.db import make_engine
from supervision.settings import Settings
from tests.conftest import TODAY, LiveServer, example_document, save_institution
from tests.escrow.conftest import stored_counts
from tests.escrow.helpers import NOW, idem, institution_with_key, statement


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


# ------------------------------------------------------------------ a connection killed half-way through


@contextlib.contextmanager
def killed_at(engine: Engine, killer: Engine, marker: str, nth: int = 1) -> Iterator[list[int]]:
    """While this lasts, the ``nth`` statement of ``engine`` that contains ``marker`` finds its connection
    terminated from another connection (``pg_terminate_backend``), just before it runs: what the same
    transaction wrote before it is on the server, uncommitted. ``"COMMIT"``: at the commit. (Statements
    run on the raw connection, COPY among them, are not seen: kill at the next one, or at the commit.)
    Yields the pids killed."""
    seen: list[int] = []
    killed: list[int] = []

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if marker in statement:
            seen.append(1)
            if len(seen) == nth:
                pid = cursor.connection.info.backend_pid
                with killer.connect() as k:
                    k.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
                killed.append(pid)

    def at_commit(conn: Any) -> None:  # marker "COMMIT": everything written, nothing committed
        before(conn, conn.connection.dbapi_connection.cursor(), "COMMIT")

    name, listener = ("commit", at_commit) if marker == "COMMIT" else ("before_cursor_execute", before)
    event.listen(engine, name, listener)
    try:
        yield killed
    finally:
        event.remove(engine, name, listener)


def table_counts(engine: Engine, *tables: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}


def test_a_statement_cut_off_while_its_ledger_is_posted_leaves_nothing(
    fresh_url: str, fresh_engine: Engine
) -> None:
    """Killed between the ledger's transactions and their entries (the statement and its lines already
    written): a 503, nothing stored; the same Idempotency-Key then stores it once."""
    eng = make_engine(fresh_url, role=APP_ROLE, statement_timeout_ms=5_000, lock_timeout_ms=1_000)
    server = LiveServer(eng, Settings(log_level="CRITICAL"))
    server.start()
    doc, key = institution_with_key(fresh_engine)
    body, idem_key = statement("2026-10", 0), idem()
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers={"X-API-Key": key}) as c:

            def submit() -> httpx.Response:
                return c.post("/api/v1/escrow/statements", json=body, headers={"Idempotency-Key": idem_key})

            with killed_at(eng, fresh_engine, "INSERT INTO escrow_entry") as killed:
                r = submit()
            assert killed and r.status_code == 503, r.text
            assert set(stored_counts(fresh_engine, doc["uscc"]).values()) == {0}
            first = submit()
            assert first.status_code == 201, first.text
            again = submit()
            assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
            assert again.json() == first.json()
        counts = stored_counts(fresh_engine, doc["uscc"])
        assert counts["statements"] == 1 and counts["lines"] == 3 and counts["idempotency"] == 1
    finally:
        server.stop()
        eng.dispose()


def test_an_import_cut_off_as_it_commits_leaves_nothing(fresh_url: str, fresh_engine: Engine) -> None:
    """Killed after the batch's rows and audit rows were COPYed, as it commits: nothing of the batch is
    kept; the same import then stores every institution once."""
    from supervision.registry import io

    docs = [example_document() for _ in range(3)]
    data = json.dumps(docs, ensure_ascii=False)
    tables = ("institution", "licence", "course", "audit_log")
    before = table_counts(fresh_engine, *tables)
    eng = make_engine(fresh_url)
    try:
        with killed_at(eng, fresh_engine, "COMMIT") as killed, pytest.raises(OperationalError):
            io.import_records(eng, io.read_json(data, "x.json"), actor="test", now=NOW)
        assert killed
        assert table_counts(fresh_engine, *tables) == before
        report = io.import_records(eng, io.read_json(data, "x.json"), actor="test", now=NOW)
        assert report.imported == 3 and not report.rejected
        again = io.import_records(eng, io.read_json(data, "x.json"), actor="test", now=NOW)
        assert again.imported == 0 and again.unchanged == 3
    finally:
        eng.dispose()
    after = table_counts(fresh_engine, *tables)
    assert after["institution"] == before["institution"] + 3


def test_a_publication_cut_off_between_two_lists_leaves_no_edition(
    fresh_url: str, fresh_engine: Engine
) -> None:
    """Killed as the second list's entries are written (the first edition and its entries written): no
    edition, no entry; publishing again publishes each list once."""
    from supervision.lists import service as lists

    with Session(fresh_engine) as s:
        save_institution(s, now=NOW)
        s.commit()
    tables = ("list_edition", "list_entry", "list_change", "audit_log")
    before = table_counts(fresh_engine, *tables)
    eng = make_engine(fresh_url)

    def publish() -> list[Any]:
        with Session(eng) as s:
            out = lists.publish(s, as_of=TODAY, now=NOW, actor="test", jurisdiction="440106")
            s.commit()
        return out

    try:
        with (
            killed_at(eng, fresh_engine, "INSERT INTO list_entry", nth=2) as killed,
            pytest.raises(OperationalError),
        ):
            publish()
        assert killed
        assert table_counts(fresh_engine, *tables) == before
        assert {o.status for o in publish()} == {"published"}
        assert {o.status for o in publish()} == {"already_published"}
    finally:
        eng.dispose()
    after = table_counts(fresh_engine, *tables)
    assert after["list_edition"] == before["list_edition"] + 3
