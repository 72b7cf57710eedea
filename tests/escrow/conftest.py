"""Fixtures for escrow tests over HTTP: institutions with keys, and a way to shrink the statement limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.conftest import LiveServer
from tests.escrow.helpers import institution_with_key


class Institution:
    """A registered institution with a key, and a client that speaks for it."""

    def __init__(self, live: LiveServer, doc: dict[str, Any], key: str) -> None:
        self.doc = doc
        self.uscc: str = doc["uscc"]
        self.key = key
        self.client = httpx.Client(base_url=live.url, timeout=60, headers={"X-API-Key": key})

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def institution(live: LiveServer, engine: Engine, http: httpx.Client) -> Iterator[Callable[..., Institution]]:
    """A factory: ``institution()`` registers a fresh institution and issues it a key."""
    made: list[Institution] = []

    def make(**changes: Any) -> Institution:
        doc, key = institution_with_key(engine, **changes)
        inst = Institution(live, doc, key)
        made.append(inst)
        return inst

    yield make
    for inst in made:
        inst.close()


@pytest.fixture
def small_limit(live: LiveServer) -> Iterator[int]:
    """Shrink the statement size limit of the live server for one test."""
    settings = live.app.state.settings
    old = settings.max_statement_bytes
    settings.max_statement_bytes = 4096
    yield 4096
    settings.max_statement_bytes = old


def stored_counts(engine: Engine, uscc: str) -> dict[str, int]:
    """Statements, lines, transactions, entries and idempotency records stored for an institution."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
SELECT (SELECT count(*) FROM escrow_statement s WHERE s.institution_id = i.id) AS statements,
       (SELECT count(*) FROM escrow_statement_line l JOIN escrow_statement s ON s.id = l.statement_id
         WHERE s.institution_id = i.id) AS lines,
       (SELECT count(*) FROM escrow_transaction t WHERE t.institution_id = i.id) AS transactions,
       (SELECT count(*) FROM escrow_entry e WHERE e.institution_id = i.id) AS entries,
       (SELECT count(*) FROM escrow_idempotency k WHERE k.institution_id = i.id) AS idempotency
  FROM institution i WHERE i.uscc = :u
"""
            ),
            {"u": uscc},
        ).one()
    return dict(row._mapping)
