"""One hostile set fed to every JSON door (issue 13, item 9): not JSON, wrong types, integers beyond 64 bits,
nesting 10,000 deep, NUL and lone surrogates, 10,000-element lists, a body over the size limit (with a
Content-Length and streamed in chunks), dates of year 1 and 9999, text in GB18030 or UTF-16 declared as
UTF-8. Every answer is a 4xx with the error shape, and afterwards the database holds what it held before.

The doors: the registry (create and replace an institution), the self-check, an institution's statement
(JSON and CSV), a decision, a complaint's triage and a list publication. The registry import has no HTTP door
(it is the administrator's command); the public complaint is a form, not JSON (its own tests hold it).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.core.audit import APP_ROLE
from supervision.db import make_engine
from supervision.escrow import keys
from supervision.settings import Settings
from supervision.web.api.rules import EVALUATE_MAX_BYTES
from tests.conftest import LiveServer, example_document, save_institution, sign_in
from tests.escrow.helpers import idem, statement, to_csv

LIMIT = 256 * 1024
"""The server's body limit here (statements and everything else; the self-check's is its own constant)."""
RATE_COUNTERS = "rate_limit_window"
"""The one table whose rows may change: the self-check counts each request of an address before it reads
the body (by design: a refused or failing request is still counted)."""
_addresses = itertools.count(2)


@pytest.fixture(scope="module")
def server(fresh_url: str) -> Iterator[LiveServer]:
    """A server on a database of its own (so that nothing else changes its counts), with small limits."""
    eng = make_engine(fresh_url, role=APP_ROLE, statement_timeout_ms=10_000, lock_timeout_ms=2_000)
    srv = LiveServer(eng, Settings(log_level="CRITICAL", max_upload_bytes=LIMIT, max_statement_bytes=LIMIT))
    srv.start()
    yield srv
    srv.stop()
    eng.dispose()


def counts(engine: Engine) -> dict[str, int]:
    """The rows of every table of the schema (the audit log among them), but the rate-limit counters."""
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ).scalars()
        return {
            t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())
            for t in list(tables)
            if t != RATE_COUNTERS
        }


# ------------------------------------------------------------------------------------------ the set

PLACEHOLDER = "\u2603PLACEHOLDER\u2603"


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def _dates(doc: Any, year: str) -> Any:
    """Every date (and month) of ``doc`` moved into ``year``."""
    raw = json.dumps(doc, ensure_ascii=False)
    raw = re.sub(r'"\d{4}-(\d\d)-(\d\d)"', lambda m: f'"{year}-{m.group(1)}-{m.group(2)}"', raw)
    raw = re.sub(r'"\d{4}-(\d\d)"', lambda m: f'"{year}-{m.group(1)}"', raw)
    return json.loads(raw)


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def hostile(
    base: dict[str, Any], field: tuple[str | int, ...], limit: int, date_field: tuple[str, ...] = ()
) -> dict[str, bytes | Callable[[], Iterator[bytes]]]:
    """The hostile bodies for a door whose good body is ``base`` and a text field of it ``field``."""
    over = b'{"x": "' + b"x" * (limit + 1) + b'"}'
    return {
        "not JSON": b'{"uscc": ',
        "an array": b"[1, 2, 3]",
        "a string": b'"\xe4\xb8\xad"',
        "a wrong type": _json(_set(base, field, {"a": [1, None]})),
        "an integer beyond 64 bits": _json(_set(base, field, 2**64 + 1)),
        "nesting 10,000 deep": _json(base).replace(
            b"{", b'{"deep": ' + b"[" * 10_000 + b"]" * 10_000 + b",", 1
        ),
        "a NUL": _json(_set(base, field, "示例\u0000")),
        "a lone surrogate": _json(_set(base, field, PLACEHOLDER)).replace(PLACEHOLDER.encode(), b"\\ud800"),
        "10,000 elements": _json(_set(base, field, ["元素"] * 10_000)),
        "year 1": _json(_dates(_set(base, date_field, "2026-11-30") if date_field else base, "0001")),
        "year 9999": _json(_dates(_set(base, date_field, "2026-11-30") if date_field else base, "9999")),
        "GB18030": json.dumps(_set(base, field, "示例文字"), ensure_ascii=False).encode("gb18030"),
        "UTF-16": json.dumps(_set(base, field, "示例文字"), ensure_ascii=False).encode("utf-16"),
        "over the limit": over,
        "over the limit, chunked": lambda: iter([over[i : i + 65536] for i in range(0, len(over), 65536)]),
    }


@dataclass
class Door:
    name: str
    method: str
    path: str
    base: dict[str, Any]
    field: tuple[str | int, ...]
    headers: dict[str, str]
    limit: int = LIMIT
    content_type: str = "application/json; charset=utf-8"
    date_field: tuple[str, ...] = ()
    """Where to put a date, for a body that has none of its own."""


@pytest.fixture(scope="module")
def doors(server: LiveServer, fresh_engine: Engine) -> list[Door]:
    now = server.clock.now()
    with Session(fresh_engine) as s:
        stored = save_institution(s, now=now)
        key, _ = keys.issue(s, uscc=stored["uscc"], now=now, actor="test")
        s.commit()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        sign_in(server, fresh_engine, c, "supervisor")
        bearer = {"Authorization": c.headers["Authorization"]}
    institution_key = {"X-API-Key": key}
    fresh = example_document()
    good_statement = statement("2026-10", 0)
    decision = {"uscc": stored["uscc"], "kind": "warning", "summary": "测试", "basis": ["CONDUCT-OTHER"]}
    return [
        Door("create an institution", "POST", "/api/v1/institutions", fresh, ("name",), bearer),
        Door(
            "replace an institution",
            "PUT",
            f"/api/v1/institutions/{stored['uscc']}",
            stored,
            ("name",),
            bearer,
        ),
        Door("the self-check", "POST", "/api/v1/rules/evaluate", fresh, ("name",), {}, EVALUATE_MAX_BYTES),
        Door(
            "a statement",
            "POST",
            "/api/v1/escrow/statements",
            good_statement,
            ("lines", 0, "ref"),
            institution_key,
        ),
        Door(
            "a CSV statement",
            "POST",
            "/api/v1/escrow/statements/csv",
            statement("2026-09", 0),
            ("lines", 0, "amount_fen"),
            institution_key,
            content_type="text/csv; charset=utf-8",
        ),
        Door(
            "a decision",
            "POST",
            "/api/v1/decisions",
            decision,
            ("summary",),
            bearer,
            date_field=("decided_on",),
        ),
        Door(
            "a complaint's triage",
            "POST",
            "/api/v1/complaints/C-20261130-0001/triage",
            {"action": "reject", "reason": "不属于本局职责"},
            ("reason",),
            bearer,
        ),
        Door(
            "a list publication",
            "POST",
            "/api/v1/lists/white/publish",
            {"as_of": "2026-11-30"},
            ("as_of",),
            bearer,
        ),
    ]


def _csv(body: bytes) -> bytes:
    """A JSON statement body as the CSV door takes it, when it is one (else the bytes as they are)."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if isinstance(doc, dict) and isinstance(doc.get("lines"), list):
        try:
            return to_csv(doc).encode()
        except (TypeError, KeyError, AttributeError, UnicodeEncodeError):
            return body
    return body


def test_every_json_door_refuses_the_hostile_set_and_stores_nothing(
    server: LiveServer, fresh_engine: Engine, doors: list[Door]
) -> None:
    before = counts(fresh_engine)
    wrong: list[str] = []
    for door in doors:
        for case, body in hostile(door.base, door.field, door.limit, door.date_field).items():
            content = body() if callable(body) else body
            if (
                door.path.endswith("/csv")
                and isinstance(content, bytes)
                and case not in ("GB18030", "UTF-16")
            ):
                content = _csv(content)
            headers = {**door.headers, "Content-Type": door.content_type}
            if "X-API-Key" in headers:
                headers["Idempotency-Key"] = idem()
            n = next(_addresses)  # the self-check is rate-limited per address: each request its own
            transport = httpx.HTTPTransport(local_address=f"127.4.{n // 250}.{n % 250 + 2}")
            with httpx.Client(base_url=server.url, transport=transport, timeout=60) as c:
                try:
                    r = c.request(door.method, door.path, content=content, headers=headers)
                except httpx.TransportError as exc:
                    wrong.append(f"{door.name}, {case}: {exc!r}")
                    continue
            shape = r.headers.get("content-type", "").startswith("application/json") and set(r.json()) == {
                "error",
                "detail",
                "problems",
            }
            if not (400 <= r.status_code < 500 and shape):
                wrong.append(f"{door.name}, {case}: {r.status_code} {r.text[:200]}")
    assert wrong == []
    assert counts(fresh_engine) == before


def test_the_good_bodies_are_taken(server: LiveServer, fresh_engine: Engine, doors: list[Door]) -> None:
    """The set is hostile only where it says: the same doors take their good bodies (so a refusal above is
    the hostile part's, not a broken base). The triage names no complaint (404) and stores nothing."""
    answers = {}
    for door in doors:
        headers = {**door.headers, "Idempotency-Key": idem()} if "X-API-Key" in door.headers else door.headers
        content = _json(door.base)
        if door.path.endswith("/csv"):
            content, headers = _csv(content), {**headers, "Content-Type": "text/csv"}
        else:
            headers = {**headers, "Content-Type": "application/json"}
        with httpx.Client(base_url=server.url, timeout=60) as c:
            answers[door.name] = c.request(
                door.method, door.path, content=content, headers=headers
            ).status_code
    assert answers == {
        "create an institution": 201,
        "replace an institution": 200,
        "the self-check": 200,
        "a statement": 201,
        "a CSV statement": 201,
        "a decision": 202,
        "a complaint's triage": 404,
        "a list publication": 201,
    }, answers
