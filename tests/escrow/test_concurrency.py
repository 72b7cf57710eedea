"""Simultaneous submissions over real HTTP (separate connections, separate database transactions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.conftest import LiveServer
from tests.escrow.conftest import Institution, stored_counts
from tests.escrow.helpers import idem, line, statement

NewInstitution = Callable[..., Institution]


def race(live: LiveServer, requests: list[tuple[dict[str, str], dict[str, Any]]]) -> list[httpx.Response]:
    """Send the requests at the same moment, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)

    def send(i: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        with httpx.Client(base_url=live.url, timeout=120) as client:
            barrier.wait()
            answers[i] = client.post("/api/v1/escrow/statements", json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(i, h, b)) for i, (h, b) in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def big_statement(period: str, tag: str) -> dict[str, Any]:
    """A statement large enough that storing it takes a while (so the two really overlap)."""
    lines = [line(f"{period}-0{1 + i % 9}", "receipt", 100 + i, ref=f"{tag}-{i:05d}") for i in range(3000)]
    return statement(period, 0, lines)


def test_two_simultaneous_statements_for_one_period_exactly_one_is_accepted(
    institution: NewInstitution, live: LiveServer, engine: Engine
) -> None:
    for _ in range(3):
        a = institution()
        headers = {"X-API-Key": a.key}
        first, second = race(
            live,
            [
                ({**headers, "Idempotency-Key": idem()}, big_statement("2026-10", "A")),
                ({**headers, "Idempotency-Key": idem()}, big_statement("2026-10", "B")),
            ],
        )
        codes = sorted([first.status_code, second.status_code])
        assert codes == [201, 409], (first.text[:300], second.text[:300])
        won, lost = (first, second) if first.status_code == 201 else (second, first)
        assert lost.json()["error"] == "already_accepted"
        assert f"id {won.json()['id']}" in lost.json()["detail"]
        counts = stored_counts(engine, a.uscc)
        assert counts["statements"] == 1 and counts["lines"] == 3000 and counts["idempotency"] == 1
        listed = a.client.get("/api/v1/escrow/statements").json()
        assert [s["id"] for s in listed["items"]] == [won.json()["id"]]


def test_two_simultaneous_corrections_of_one_statement_exactly_one_supersedes_it(
    institution: NewInstitution, live: LiveServer, engine: Engine
) -> None:
    a = institution()
    original = a.client.post(
        "/api/v1/escrow/statements", json=statement("2026-10", 0), headers={"Idempotency-Key": idem()}
    ).json()
    headers = {"X-API-Key": a.key}
    fix_a = big_statement("2026-10", "A") | {"amends": original["id"]}
    fix_b = big_statement("2026-10", "B") | {"amends": original["id"]}
    answers = race(
        live,
        [({**headers, "Idempotency-Key": idem()}, fix_a), ({**headers, "Idempotency-Key": idem()}, fix_b)],
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    lost = next(r for r in answers if r.status_code == 409)
    assert lost.json()["error"] == "already_superseded"
    assert stored_counts(engine, a.uscc)["statements"] == 2


def test_the_same_request_twice_at_once_is_stored_once_and_both_get_the_answer(
    institution: NewInstitution, live: LiveServer, engine: Engine
) -> None:
    a = institution()
    key = idem()
    doc = big_statement("2026-10", "A")
    answers = race(live, [({"X-API-Key": a.key, "Idempotency-Key": key}, doc)] * 2)
    assert [r.status_code for r in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in answers) == ["", "true"]
    assert stored_counts(engine, a.uscc)["statements"] == 1
