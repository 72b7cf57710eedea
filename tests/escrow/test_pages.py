"""The institution portal and the staff escrow pages, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import LiveServer, portal_login
from tests.escrow.conftest import Institution, stored_counts
from tests.escrow.helpers import idem, line, statement, summary_form, to_csv
from tests.escrow.test_isolation import portal_sign_in


@pytest.fixture
def staff(admin: httpx.Client) -> httpx.Client:
    """These tests act as a admin: institution keys are the administrators'."""
    return admin


NewInstitution = Callable[..., Institution]


def upload(client: httpx.Client, csrf: str, doc: dict[str, Any], **extra: str) -> httpx.Response:
    return client.post(
        "/portal/statements",
        data={**summary_form(doc), "csrf": csrf, "idempotency_key": extra.pop("key", idem()), **extra},
        files={"file": ("oct.csv", to_csv(doc, with_summary=False).encode("gb18030"), "text/csv")},
        follow_redirects=False,
    )


def test_portal_sign_in_upload_and_see_the_result(institution: NewInstitution, live: LiveServer) -> None:
    a = institution()
    assert httpx.get(f"{live.url}/portal/statements", follow_redirects=False).status_code == 303
    client, csrf = portal_sign_in(live, a.key)
    cookie = next(c for c in client.cookies.jar if c.name == "sv_portal")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/portal"
    doc = statement(
        "2026-10",
        0,
        [line("2026-10-02", "receipt", 600000, ref="R-BIG", package_code="K1", lessons=80, months=4)],
    )
    r = upload(client, csrf, doc)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert page.status_code == 200
    assert "2026-10 资金监管报表" in page.text and "R-BIG" in page.text
    assert "FEE-PREPAY-CAP" in page.text and "应监管金额" in page.text
    assert "ceil(" in page.text  # how the requirement was computed
    listing = client.get("/portal/statements").text
    assert r.headers["location"] in listing
    findings = client.get("/portal/findings")
    assert (
        findings.status_code == 200
        and "当前应监管金额" in findings.text
        and "statement.due_day" in findings.text
    )


def test_portal_shows_every_line_problem_and_stores_nothing(
    institution: NewInstitution, live: LiveServer, engine: Engine
) -> None:
    a = institution()
    client, csrf = portal_sign_in(live, a.key)
    doc = statement("2026-10", 0, [line("2026-10-02", "receipt", 100), line("2026-10-40", "lesson", -1)])
    r = upload(client, csrf, doc)
    assert r.status_code == 422
    assert "oct.csv:3:date" in r.text and "oct.csv:3:type" in r.text and "oct.csv:3:amount_fen" in r.text
    assert "没有保存任何内容" in r.text
    assert stored_counts(engine, a.uscc)["statements"] == 0
    # the form is shown again filled in
    assert 'value="2026-10"' in r.text


def test_portal_refuses_a_form_without_its_csrf_token_and_replays_a_double_submit(
    institution: NewInstitution, live: LiveServer, engine: Engine
) -> None:
    a = institution()
    client, csrf = portal_sign_in(live, a.key)
    doc = statement("2026-10", 0)
    assert upload(client, "forged", doc).status_code == 403
    assert upload(client, "", doc).status_code == 403
    assert stored_counts(engine, a.uscc)["statements"] == 0
    key = idem()
    first = upload(client, csrf, doc, key=key)
    second = upload(client, csrf, doc, key=key)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert stored_counts(engine, a.uscc)["statements"] == 1
    third = upload(client, csrf, doc)
    assert third.status_code == 409 and "already accepted" in third.text


def test_portal_sessions_end_at_sign_out_and_when_the_key_is_revoked(
    institution: NewInstitution, live: LiveServer, staff: httpx.Client
) -> None:
    a = institution()
    client, csrf = portal_sign_in(live, a.key)
    other, _ = portal_sign_in(live, a.key)
    assert client.post("/portal/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/portal/statements", follow_redirects=False).status_code == 303
    assert other.get("/portal/statements").status_code == 200
    staff.delete(f"/api/v1/escrow/keys/{a.key[3:13]}").raise_for_status()
    assert other.get("/portal/statements", follow_redirects=False).status_code == 303
    with httpx.Client(base_url=live.url) as again:
        assert portal_login(again, a.key).status_code == 401


def test_staff_pages_show_statements_ledger_chart_and_keys(
    institution: NewInstitution, staff: httpx.Client
) -> None:
    a = institution()
    sep = a.client.post(
        "/api/v1/escrow/statements", json=statement("2026-09", 0), headers={"Idempotency-Key": idem()}
    ).json()
    octo = a.client.post(
        "/api/v1/escrow/statements",
        json=statement("2026-10", sep["closing_balance_fen"], unearned_liability_fen=10**7),
        headers={"Idempotency-Key": idem()},
    ).json()
    overview = staff.get("/staff/escrow", params={"q": a.uscc})
    assert overview.status_code == 200 and a.doc["name"] in overview.text and "不符" in overview.text
    page = staff.get(f"/staff/escrow/{a.uscc}")
    assert page.status_code == 200
    assert "<svg" in page.text and page.text.count("<polyline") == 4
    assert "2026-09" in page.text and "2026-10" in page.text
    assert "按分录重算" in page.text and "不一致" not in page.text
    detail = staff.get(f"/staff/escrow/{a.uscc}/statements/{octo['id']}")
    assert detail.status_code == 200 and "FEE-ESCROW-SHORTFALL" in detail.text
    issued = staff.post(f"/staff/escrow/{a.uscc}/keys", data={"days": "30", "label": "second office"})
    assert issued.status_code == 201
    key = re.search(r"sk_[a-z0-9]{10}_[A-Za-z0-9_-]+", issued.text)
    assert key
    with httpx.Client(base_url=str(staff.base_url), headers={"X-API-Key": key.group(0)}) as c:
        assert c.get("/api/v1/escrow/statements").json()["total"] == 2
    public_id = key.group(0)[3:13]
    r = staff.post(f"/staff/escrow/{a.uscc}/keys/{public_id}/revoke", follow_redirects=False)
    assert r.status_code == 303
    with httpx.Client(base_url=str(staff.base_url), headers={"X-API-Key": key.group(0)}) as c:
        assert c.get("/api/v1/escrow/statements").status_code == 401
    assert staff.get("/staff/escrow/91440106MA0000000X").status_code == 404
