"""The escrow API over real HTTP: submission as JSON and CSV, idempotency, limits, keys, staff reads."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer
from tests.escrow.conftest import Institution, stored_counts
from tests.escrow.helpers import idem, institution_with_key, line, statement, summary_form, to_csv


@pytest.fixture
def staff(admin: httpx.Client) -> httpx.Client:
    """These tests act as a admin: institution keys and deleting institutions are the administrators'."""
    return admin


NewInstitution = Callable[..., Institution]


def post_json(inst: Institution, doc: dict[str, Any], key: str | None = None) -> httpx.Response:
    return inst.client.post("/api/v1/escrow/statements", json=doc, headers={"Idempotency-Key": key or idem()})


def test_a_json_statement_is_stored_with_its_result_and_readable(institution: NewInstitution) -> None:
    a = institution()
    doc = statement("2026-10", 1200000)
    r = post_json(a, doc)
    assert r.status_code == 201, r.text
    body = r.json()
    for field in ("period", "mode", "opening_balance_fen", "closing_balance_fen", "unearned_liability_fen"):
        assert body[field] == doc[field]
    assert body["status"] == "accepted" and body["line_count"] == 3 and body["source"] == "json"
    assert body["reconciliation"]["ok"] is True
    assert a.client.get(f"/api/v1/escrow/statements/{body['id']}").json() == body
    listed = a.client.get("/api/v1/escrow/statements").json()
    assert listed["total"] == 1 and listed["items"][0] == body
    lines = a.client.get(f"/api/v1/escrow/statements/{body['id']}/lines", params={"type": "receipt"}).json()
    assert lines["total"] == 1 and lines["items"][0]["ref"] == doc["lines"][0]["ref"]
    ledger = a.client.get("/api/v1/escrow/ledger").json()
    cash = next(b for b in ledger["balances"] if b["kind"] == "supervised_cash")
    assert cash["balance_fen"] == cash["recomputed_fen"] == doc["closing_balance_fen"]
    assert ledger["transactions"]["total"] == 5  # opening, receipts, releases, refunds, liability
    need = a.client.get("/api/v1/escrow/requirement").json()
    assert need["latest_statement"] == body["id"]
    assert need["requirement"]["required_fen"] == doc["unearned_liability_fen"]
    assert need["requirement"]["parameters"][0]["name"] == "escrow.coverage_pct"
    assert need["next_statement"] == {**need["next_statement"], "period": "2026-11", "due_on": "2026-12-10"}


def test_a_csv_statement_as_form_fields_as_a_bare_body_and_in_gb18030(institution: NewInstitution) -> None:
    a = institution()
    sep = statement("2026-09", 0)
    r = a.client.post(
        "/api/v1/escrow/statements/csv",
        data=summary_form(sep),
        files={"file": ("sep.csv", to_csv(sep, with_summary=False).encode(), "text/csv")},
        headers={"Idempotency-Key": idem()},
    )
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "csv" and r.json()["closing_balance_fen"] == sep["closing_balance_fen"]
    octo = statement("2026-10", sep["closing_balance_fen"])
    r = a.client.post(
        "/api/v1/escrow/statements/csv",
        content=("# 示例培训中心十月报表\n" + to_csv(octo)).encode("gb18030"),
        headers={"Idempotency-Key": idem(), "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["reconciliation"]["opening"]["ok"] is True


def test_a_rejected_statement_lists_every_problem_and_stores_nothing(
    institution: NewInstitution, engine: Engine
) -> None:
    a = institution()
    doc = statement("2026-10", 0, [line("2026-10-01", "receipt", 100), line("2026-10-02", "bonus", 5)])
    doc["closing_balance_fen"] = 1
    r = a.client.post(
        "/api/v1/escrow/statements/csv",
        content=to_csv(doc).encode("utf-8-sig"),
        headers={"Idempotency-Key": idem(), "Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid"
    locs = {p["loc"] for p in body["problems"]}
    assert "closing_balance_fen" in locs
    assert any(loc.startswith("statement.csv:") and loc.endswith(":type") for loc in locs)
    assert stored_counts(engine, a.uscc) == dict.fromkeys(
        ("statements", "lines", "transactions", "entries", "idempotency"), 0
    )


def test_idempotency_key_is_required_replays_and_refuses_a_different_body(
    institution: NewInstitution, engine: Engine
) -> None:
    a = institution()
    doc = statement("2026-10", 0)
    r = a.client.post("/api/v1/escrow/statements", json=doc)
    assert r.status_code == 422 and r.json()["problems"][0]["loc"] == "Idempotency-Key"
    key = idem()
    first = post_json(a, doc, key)
    again = post_json(a, doc, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    before = stored_counts(engine, a.uscc)
    other = statement("2026-09", 0)
    r = post_json(a, other, key)
    assert r.status_code == 409 and r.json()["error"] == "idempotency_key_reused"
    assert stored_counts(engine, a.uscc) == before
    # a second statement for the period with a new key is told what to do
    r = post_json(a, doc)
    assert r.status_code == 409 and r.json()["error"] == "already_accepted"
    assert f'"amends": {first.json()["id"]}' in r.json()["detail"]


def test_a_correction_supersedes_and_the_answer_says_so(institution: NewInstitution) -> None:
    a = institution()
    first = post_json(a, statement("2026-10", 0)).json()
    fix = statement("2026-10", 0, [line("2026-10-05", "receipt", 5000)], amends=first["id"])
    second = post_json(a, fix)
    assert second.status_code == 201, second.text
    old = a.client.get(f"/api/v1/escrow/statements/{first['id']}").json()
    assert old["status"] == "superseded" and old["superseded_by"] == second.json()["id"]
    assert old["closing_balance_fen"] == first["closing_balance_fen"]  # kept as it was
    r = post_json(a, statement("2026-10", 0, amends=first["id"]))
    assert r.status_code == 409 and r.json()["error"] == "already_superseded"


def test_too_large_statements_get_413_by_header_and_while_streaming(
    institution: NewInstitution, small_limit: int, engine: Engine
) -> None:
    a = institution()
    many = [line("2026-10-01", "receipt", 100, ref=f"R-{i:05d}") for i in range(200)]
    doc = statement("2026-10", 0, many)
    r = post_json(a, doc)
    assert r.status_code == 413
    assert r.json()["error"] == "too_large" and str(small_limit) in r.json()["detail"]

    def chunks() -> Iterator[bytes]:
        data = to_csv(doc).encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    r = a.client.post(
        "/api/v1/escrow/statements/csv",
        content=chunks(),  # no Content-Length: chunked
        headers={"Idempotency-Key": idem(), "Content-Type": "text/csv"},
    )
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    r = a.client.post(
        "/api/v1/escrow/statements/csv",
        files={"file": ("big.csv", to_csv(doc).encode(), "text/csv")},
        headers={"Idempotency-Key": idem()},
    )
    assert r.status_code == 413
    assert stored_counts(engine, a.uscc)["statements"] == 0


def test_keys_missing_wrong_expired_or_revoked_are_refused(
    institution: NewInstitution, live: LiveServer, staff: httpx.Client
) -> None:
    a = institution()
    client = httpx.Client(base_url=live.url)
    assert client.get("/api/v1/escrow/statements").status_code == 401
    for header in (
        {"X-API-Key": a.key[:-2]},
        {"Authorization": f"Bearer {a.key}x"},
        {"Authorization": staff.headers["Authorization"]},  # a staff token is not an institution key
    ):
        r = client.get("/api/v1/escrow/statements", headers=header)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert (
        client.get("/api/v1/escrow/statements", headers={"Authorization": f"Bearer {a.key}"}).status_code
        == 200
    )
    # revoking ends a key at once
    public_id = a.key[3:13]
    assert staff.delete(f"/api/v1/escrow/keys/{public_id}").status_code == 204
    assert client.get("/api/v1/escrow/statements", headers={"X-API-Key": a.key}).status_code == 401
    # a short-lived key expires
    issued = staff.post(f"/api/v1/escrow/institutions/{a.uscc}/keys", json={"days": 1, "label": "one day"})
    assert issued.status_code == 201
    short = issued.json()["key"]
    assert client.get("/api/v1/escrow/statements", headers={"X-API-Key": short}).status_code == 200
    live.clock.instant += dt.timedelta(days=1)
    assert client.get("/api/v1/escrow/statements", headers={"X-API-Key": short}).status_code == 401
    live.clock.instant -= dt.timedelta(days=1)
    listed = staff.get(f"/api/v1/escrow/institutions/{a.uscc}/keys").json()
    assert {k["public_id"]: k["status"] for k in listed}[public_id] == "revoked"
    assert all("key" not in k for k in listed)
    client.close()


def test_staff_read_any_institutions_statements_and_ledger(
    institution: NewInstitution, staff: httpx.Client
) -> None:
    a = institution()
    answer = post_json(a, statement("2026-10", 0)).json()
    listed = staff.get(f"/api/v1/escrow/institutions/{a.uscc}/statements").json()
    assert [s["id"] for s in listed["items"]] == [answer["id"]]
    assert staff.get(f"/api/v1/escrow/institutions/{a.uscc}/statements/{answer['id']}").json() == answer
    ledger = staff.get(f"/api/v1/escrow/institutions/{a.uscc}/ledger").json()
    assert all(b["balance_fen"] == b["recomputed_fen"] for b in ledger["balances"])
    assert staff.get("/api/v1/escrow/institutions/91440106MA0000000X/ledger").status_code == 404


def test_the_openapi_schema_documents_the_escrow_routes_and_their_errors(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/escrow/statements"]["post"]
    assert {"201", "401", "409", "413", "422"} <= set(post["responses"])
    assert "application/json" in post["requestBody"]["content"]
    csv = spec["paths"]["/api/v1/escrow/statements/csv"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "text/csv"} <= set(csv)
    assert json.dumps(spec)  # serialisable


def test_an_institution_with_statements_cannot_be_deleted(staff: httpx.Client, engine: Engine) -> None:
    doc, key = institution_with_key(engine)
    r = staff.post(
        "/api/v1/escrow/statements",
        json=statement("2026-10"),
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem()},
    )
    assert r.status_code == 201, r.text
    staff_headers = {"Authorization": staff.headers["Authorization"]}
    r = staff.delete(f"/api/v1/institutions/{doc['uscc']}", headers=staff_headers)
    assert r.status_code == 409
    assert r.json()["error"] == "has_history"
    assert staff.get(f"/api/v1/institutions/{doc['uscc']}").status_code == 200
