"""Institution A's key (or portal session) can neither read nor write anything of institution B, on every
route the escrow area serves. A last test fails when a route is added without being covered here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, text
from sqlmodel import Session

from tests.conftest import LiveServer, portal_login
from tests.escrow.conftest import Institution, stored_counts
from tests.escrow.helpers import NOW, idem, statement, summary_form, to_csv

NewInstitution = Callable[..., Institution]

COVERED = {
    ("POST", "/api/v1/escrow/statements"),
    ("POST", "/api/v1/escrow/statements/csv"),
    ("GET", "/api/v1/escrow/statements"),
    ("GET", "/api/v1/escrow/statements/{statement_id}"),
    ("GET", "/api/v1/escrow/statements/{statement_id}/lines"),
    ("GET", "/api/v1/escrow/requirement"),
    ("GET", "/api/v1/escrow/ledger"),
    ("GET", "/api/v1/escrow/findings"),
    ("GET", "/api/v1/escrow/institutions/{uscc}/statements"),
    ("GET", "/api/v1/escrow/institutions/{uscc}/statements/{statement_id}"),
    ("GET", "/api/v1/escrow/institutions/{uscc}/ledger"),
    ("GET", "/api/v1/escrow/institutions/{uscc}/keys"),
    ("POST", "/api/v1/escrow/institutions/{uscc}/keys"),
    ("DELETE", "/api/v1/escrow/keys/{public_id}"),
    ("GET", "/portal"),
    ("POST", "/portal/login"),
    ("POST", "/portal/logout"),
    ("GET", "/portal/statements"),
    ("POST", "/portal/statements"),
    ("GET", "/portal/statements/{statement_id}"),
    ("GET", "/portal/findings"),
    ("GET", "/portal/notices"),
    ("POST", "/portal/notices/{proposal_id}/{step}"),
    ("GET", "/staff/escrow"),
    ("GET", "/staff/escrow/{uscc}"),
    ("GET", "/staff/escrow/{uscc}/statements/{statement_id}"),
    ("POST", "/staff/escrow/{uscc}/keys"),
    ("POST", "/staff/escrow/{uscc}/keys/{public_id}/revoke"),
}


class Pair:
    def __init__(self, a: Institution, b: Institution, b_ids: list[int], engine: Engine) -> None:
        self.a, self.b, self.b_ids, self.engine = a, b, b_ids, engine
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        listed = self.b.client.get("/api/v1/escrow/statements").json()
        ledger = self.b.client.get("/api/v1/escrow/ledger").json()
        return {"counts": stored_counts(self.engine, self.b.uscc), "statements": listed, "ledger": ledger}

    def b_unchanged(self) -> None:
        assert self.snapshot() == self.before


def store_finding(engine: Engine, uscc: str, message_zh: str, message_en: str) -> None:
    """An open finding as a rule run stores it (filled generically: the table belongs to compliance)."""
    from supervision.compliance.models import Finding, RuleRun

    run_table = RuleRun.metadata.tables["rule_run"]
    with engine.begin() as conn:
        run_values: dict[str, Any] = {}
        for column in RuleRun.metadata.tables["rule_run"].columns:
            if not column.nullable and column.server_default is None and not column.primary_key:
                run_values[column.name] = _filler(column)
        run_values.update(
            scope="institution",
            as_of=dt.date(2026, 11, 30),
            jurisdiction="440106",
            counts={},
            uncovered_dates=[],
        )
        run = conn.execute(run_table.insert().values(**run_values).returning(run_table.c.id))
        run_id = run.scalar_one()
        institution_id = conn.execute(
            text("SELECT id FROM institution WHERE uscc = :u"), {"u": uscc}
        ).scalar_one()
        values: dict[str, Any] = {}
        for column in Finding.metadata.tables["finding"].columns:
            if not column.nullable and column.server_default is None and not column.primary_key:
                values[column.name] = run_id if column.name.endswith("run_id") else _filler(column)
        values.update(
            institution_id=institution_id,
            rule_id="FEE-NO-ESCROW",
            severity="critical",
            subject="institution",
            message_zh=message_zh,
            message_en=message_en,
            status="open",
        )
        conn.execute(Finding.metadata.tables["finding"].insert().values(**values))


def _filler(column: Any) -> Any:
    python_type = column.type.python_type
    if python_type is dt.datetime:
        return dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    if python_type is dt.date:
        return dt.date(2026, 11, 30)
    if python_type is int:
        return 1
    if python_type in (dict, list):
        return python_type()
    return "test"


@pytest.fixture
def pair(institution: NewInstitution, engine: Engine) -> Pair:
    a, b = institution(), institution()
    a.client.post(
        "/api/v1/escrow/statements", json=statement("2026-10", 0), headers={"Idempotency-Key": idem()}
    )
    ids = []
    for period in ("2026-09", "2026-10"):
        r = b.client.post(
            "/api/v1/escrow/statements", json=statement(period, 0), headers={"Idempotency-Key": idem()}
        )
        assert r.status_code == 201
        ids.append(r.json()["id"])
    store_finding(engine, b.uscc, "B机构的秘密问题", "B secret")
    return Pair(a, b, ids, engine)


def test_a_cannot_read_bs_statements_lines_ledger_requirement_or_findings(pair: Pair) -> None:
    a, b = pair.a, pair.b
    for sid in pair.b_ids:
        for path in (f"/api/v1/escrow/statements/{sid}", f"/api/v1/escrow/statements/{sid}/lines"):
            r = a.client.get(path)
            assert r.status_code == 404 and r.json()["error"] == "not_found", path
    own = a.client.get("/api/v1/escrow/statements").json()
    assert own["total"] == 1 and not {s["id"] for s in own["items"]} & set(pair.b_ids)
    # a query parameter naming another institution changes nothing: the institution comes from the key
    assert a.client.get("/api/v1/escrow/statements", params={"uscc": b.uscc}).json() == own
    need = a.client.get("/api/v1/escrow/requirement").json()
    assert need["latest_statement"] not in pair.b_ids
    ledger = a.client.get("/api/v1/escrow/ledger").json()
    assert ledger["transactions"]["total"] > 0
    assert not {t["statement_id"] for t in ledger["transactions"]["items"]} & set(pair.b_ids)
    assert "B secret" not in a.client.get("/api/v1/escrow/findings").text
    assert "B secret" in str(b.client.get("/api/v1/escrow/findings").json())
    pair.b_unchanged()


def test_a_cannot_write_to_b(pair: Pair) -> None:
    a, b = pair.a, pair.b
    # amending B's statement: refused as not A's (the same answer as for a statement that does not exist)
    doc = statement("2026-10", 0, amends=pair.b_ids[1])
    r = a.client.post("/api/v1/escrow/statements", json=doc, headers={"Idempotency-Key": idem()})
    assert r.status_code == 422 and r.json()["problems"] == [
        {"loc": "amends", "msg": f"you have no statement {pair.b_ids[1]}"}
    ]
    r = a.client.post(
        "/api/v1/escrow/statements/csv",
        data=summary_form(doc),
        files={"file": ("s.csv", to_csv(doc, with_summary=False).encode(), "text/csv")},
        headers={"Idempotency-Key": idem()},
    )
    assert r.status_code == 422 and "you have no statement" in r.text
    # naming B in the body is an unknown field, not a way to act for B
    doc = statement("2026-09", 0, uscc=b.uscc)
    r = a.client.post("/api/v1/escrow/statements", json=doc, headers={"Idempotency-Key": idem()})
    assert r.status_code == 422 and {"loc": "uscc", "msg": "unknown field"} in r.json()["problems"]
    # B's idempotency keys are B's: A using the same key value gets its own, separate record
    key = idem()
    assert (
        b.client.post(
            "/api/v1/escrow/statements", json=statement("2026-08", 0), headers={"Idempotency-Key": key}
        ).status_code
        == 201
    )
    pair.before = pair.snapshot()
    r = a.client.post(
        "/api/v1/escrow/statements", json=statement("2026-08", 0), headers={"Idempotency-Key": key}
    )
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    pair.b_unchanged()


def test_an_institution_key_opens_no_staff_route(pair: Pair, live: LiveServer, engine: Engine) -> None:
    a, b = pair.a, pair.b
    sid = pair.b_ids[0]
    public_id = b.key[3:13]
    for header in ({"X-API-Key": a.key}, {"Authorization": f"Bearer {a.key}"}):
        with httpx.Client(base_url=live.url, headers=header) as c:
            for method, path, body in (
                ("GET", f"/api/v1/escrow/institutions/{b.uscc}/statements", None),
                ("GET", f"/api/v1/escrow/institutions/{b.uscc}/statements/{sid}", None),
                ("GET", f"/api/v1/escrow/institutions/{b.uscc}/ledger", None),
                ("GET", f"/api/v1/escrow/institutions/{b.uscc}/keys", None),
                ("POST", f"/api/v1/escrow/institutions/{b.uscc}/keys", {"days": 30}),
                ("DELETE", f"/api/v1/escrow/keys/{public_id}", None),
            ):
                r = c.request(method, path, json=body)
                assert r.status_code == 401, (method, path, r.text)
            for method, path in (
                ("GET", "/staff/escrow"),
                ("GET", f"/staff/escrow/{b.uscc}"),
                ("GET", f"/staff/escrow/{b.uscc}/statements/{sid}"),
                ("POST", f"/staff/escrow/{b.uscc}/keys"),
                ("POST", f"/staff/escrow/{b.uscc}/keys/{public_id}/revoke"),
            ):
                r = c.request(method, path, follow_redirects=False)
                # a form sent without the CSRF token is refused before anything else (403)
                signed_out = r.status_code == 303 and r.headers["location"] == "/staff/login"
                assert signed_out or (method == "POST" and r.status_code == 403), (method, path)
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM institution_key k JOIN institution i ON i.id = k.institution_id"
                " WHERE i.uscc = :u AND k.revoked_at IS NULL"
            ),
            {"u": b.uscc},
        ).scalar_one()
    assert n == 1
    assert b.client.get("/api/v1/escrow/statements").status_code == 200  # B's key still works
    pair.b_unchanged()


def portal_sign_in(live: LiveServer, key: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=live.url, timeout=60)
    r = portal_login(client, key)
    assert r.status_code == 303, r.text
    page = client.get("/portal/statements")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return client, match.group(1)


def test_as_signed_in_portal_a_cannot_reach_b(pair: Pair, live: LiveServer) -> None:
    a, b = pair.a, pair.b
    client, csrf = portal_sign_in(live, a.key)
    b_client, _ = portal_sign_in(live, b.key)
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/portal/statements"
    page = client.get("/portal/statements").text
    assert a.doc["name"] in page
    assert not any(f'/portal/statements/{sid}"' in page for sid in pair.b_ids)
    for sid in pair.b_ids:
        assert client.get(f"/portal/statements/{sid}").status_code == 404
    assert "B机构的秘密问题" not in client.get("/portal/findings").text
    assert "B机构的秘密问题" in b_client.get("/portal/findings").text
    doc = statement("2026-10", 0, amends=pair.b_ids[1])
    r = client.post(
        "/portal/statements",
        data={**summary_form(doc), "csrf": csrf, "idempotency_key": idem()},
        files={"file": ("s.csv", to_csv(doc, with_summary=False).encode(), "text/csv")},
    )
    assert r.status_code == 422 and f"you have no statement {pair.b_ids[1]}" in r.text
    # A signing out ends A's session only
    assert client.post("/portal/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/portal/statements", follow_redirects=False).status_code == 303
    assert b_client.get("/portal/statements").status_code == 200
    # signing in with a made-up key is refused
    with httpx.Client(base_url=live.url) as stranger:
        assert portal_login(stranger, b.key + "0").status_code == 401
    client.close()
    b_client.close()
    pair.b_unchanged()


def test_a_notice_served_on_b_is_out_of_a_s_reach(pair: Pair, live: LiveServer, engine: Engine) -> None:
    """B's notice of a proposed blacklisting: A's portal neither shows it nor lets A state a case or waive."""
    from supervision.cases import casework
    from supervision.cases.schemas import DecisionIn
    from tests.cases.conftest import user

    with Session(engine) as s:
        officer, supervisor = user(s, "officer"), user(s, "supervisor")
        data = DecisionIn(
            uscc=pair.b.uscc, kind="blacklist", basis=["CONDUCT-REFUND"], summary="B机构拒不退费"
        )
        proposal = casework.propose_outside_case(s, data, officer, now=NOW, jurisdiction="440106")
        case = casework.case_of_proposal(s, proposal)
        casework.approve(s, case.reference, supervisor, version=case.version, now=NOW, jurisdiction="440106")
        s.commit()
        pid = proposal.id
    client, csrf = portal_sign_in(live, pair.a.key)
    b_client, _ = portal_sign_in(live, pair.b.key)
    assert "B机构拒不退费" not in client.get("/portal/notices").text
    assert "B机构拒不退费" in b_client.get("/portal/notices").text
    for step in ("statement", "waive"):
        r = client.post(f"/portal/notices/{pid}/{step}", data={"csrf": csrf, "statement": "冒充"})
        assert r.status_code == 404, r.text
    with Session(engine) as s:
        notice = casework.get_proposal(s, pid or 0)
        assert notice.statement is None and notice.waived_at is None
    client.close()
    b_client.close()


def test_every_escrow_route_is_covered_here(live: LiveServer) -> None:
    served: set[tuple[str, str]] = set()
    routes = list(live.app.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # a router included into the app
        if included is not None:
            routes.extend(included.routes)
        elif isinstance(route, APIRoute) and route.path.startswith(
            ("/api/v1/escrow", "/portal", "/staff/escrow")
        ):
            # The template without converters ({statement_id:int}), as the permission table names it.
            served.update((method, route.path_format) for method in (route.methods or set()) - {"HEAD"})
    assert served == COVERED
