"""Hardening of the doors, over HTTP: input the database cannot store or that costs too much is refused with
a 422 naming where; rate limits count what they should; answers carry the security headers, the documented
error shape and nothing of the server's insides."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.accounts.permissions import Perm
from supervision.core.audit import APP_ROLE
from supervision.db import make_engine
from supervision.settings import ROOT, Settings
from supervision.web.deps import RateLimit
from supervision.web.permissions import ROUTES
from tests.conftest import TODAY, LiveServer, example_document, new_uscc, sign_in

_addresses = itertools.count(2)


def own_client(live: LiveServer) -> httpx.Client:
    """A client with a loopback source address of its own (rate limits are per address)."""
    n = next(_addresses)
    transport = httpx.HTTPTransport(local_address=f"127.3.{n // 250}.{n % 250 + 2}")
    return httpx.Client(base_url=live.url, transport=transport, timeout=30)


def problems(r: httpx.Response) -> dict[str, str]:
    body = r.json()
    assert set(body) == {"error", "detail", "problems"}, body
    return {p["loc"]: p["msg"] for p in body["problems"]}


def evaluate(live: LiveServer, doc: Any, **params: str) -> httpx.Response:
    with own_client(live) as c:
        return c.post("/api/v1/rules/evaluate", json=doc, params=params)


@pytest.fixture(scope="module")
def strict(database_url: str) -> Iterator[LiveServer]:
    """A server with the service's own settings (a week ahead for publications, no trusted proxy) on an engine
    whose lock timeout is short."""
    eng = make_engine(database_url, role=APP_ROLE, statement_timeout_ms=5_000, lock_timeout_ms=300)
    server = LiveServer(eng, Settings(log_level="CRITICAL"))
    server.start()
    yield server
    server.stop()
    eng.dispose()


# ---------------------------------------------------------------------------------------- NUL and co.


def test_a_document_holding_a_nul_is_refused_naming_the_field(staff: httpx.Client) -> None:
    doc = example_document(name="示例\u0000培训中心")
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 422, r.text
    assert problems(r) == {"name": "must not contain NUL characters (\\u0000)"}
    assert staff.get(f"/api/v1/institutions/{doc['uscc']}").status_code == 404
    doc["name"] = "示例培训中心"
    doc["teachers"][0]["name"] = "张\u0000老师"
    r = staff.put(f"/api/v1/institutions/{doc['uscc']}", json=doc)
    assert r.status_code == 422 and list(problems(r)) == ["teachers[0].name"]


def test_the_self_check_refuses_a_nul_as_the_registry_does(live: LiveServer) -> None:
    doc = example_document()
    doc["courses"][0]["title"] = "数学\u0000"
    r = evaluate(live, doc)
    assert r.status_code == 422 and list(problems(r)) == ["courses[0].title"]


def test_a_nul_in_the_address_is_refused(http: httpx.Client) -> None:
    r = http.get("/api/v1/public/institutions", params={"q": "示例\u0000"})
    assert r.status_code == 422 and list(problems(r)) == ["query.q"]
    r = http.get("/api/v1/public/institutions/9144%00")
    assert r.status_code == 422 and list(problems(r)) == ["path"]


def test_a_complaint_holding_a_nul_is_shown_again(live: LiveServer, engine: Engine) -> None:
    with own_client(live) as c:
        page = c.get("/complaints/new")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = c.post(
            "/complaints",
            data={
                "csrf_token": token.group(1),
                "text": "晚上十点还在上课\u0000，每次三小时。",
                "contact": "王女士",
            },
        )
    assert r.status_code == 422 and "王女士" in r.text and 'aria-invalid="true"' in r.text


def test_a_value_the_database_refuses_is_a_422_not_a_500(admin: httpx.Client, engine: Engine) -> None:
    """The last line, for a form field no schema checks: a NUL in the label of a new key."""
    doc = example_document()
    assert admin.post("/api/v1/institutions", json=doc).status_code == 201
    r = admin.post(f"/staff/escrow/{doc['uscc']}/keys", data={"days": "30", "label": "前台\u0000"})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid" and "NUL" not in r.json()["detail"]


# ------------------------------------------------------------------------------------ JSON and pages


def test_integers_beyond_64_bits_are_refused_where_they_are(live: LiveServer, staff: httpx.Client) -> None:
    doc = example_document()
    doc["courses"][0]["prepaid_packages"][0]["price_fen"] = 2**64
    for r in (evaluate(live, doc), staff.post("/api/v1/institutions", json=doc)):
        assert r.status_code == 422, r.text
        assert list(problems(r)) == ["courses[0].prepaid_packages[0].price_fen"]
    r = evaluate(live, {**example_document(), "statements": [{"period": "2026-10", "opening": -(2**70)}]})
    assert r.status_code == 422 and list(problems(r)) == ["statements[0].opening"]


def test_json_nested_too_deep_is_refused(live: LiveServer, staff: httpx.Client) -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    doc = {**example_document(), "extra": deep}
    for r in (evaluate(live, doc), staff.post("/api/v1/institutions", json=doc)):
        assert r.status_code == 422, r.text
        [(loc, msg)] = problems(r).items()
        assert loc.startswith("extra[0][0]") and "64 levels" in msg
    r = staff.post(
        "/api/v1/lists/white/publish",
        content=b'{"as_of":' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422


def test_a_statement_is_bounded_whatever_its_content_type(live: LiveServer, engine: Engine) -> None:
    from tests.escrow.helpers import idem, institution_with_key

    _, key = institution_with_key(engine)
    body = b'{"period": "2026-10", "lines": ' + b"[" * 300 + b"]" * 300 + b"}"
    for content_type in ("application/json", "text/plain"):
        r = httpx.post(
            f"{live.url}/api/v1/escrow/statements",
            content=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Idempotency-Key": idem(),
                "Content-Type": content_type,
            },
            timeout=30,
        )
        assert r.status_code == 422, (content_type, r.text)
        assert "64 levels" in next(iter(problems(r).values()))


def test_page_numbers_are_bounded(http: httpx.Client, staff: httpx.Client) -> None:
    huge = str(10**20)
    r = http.get("/api/v1/public/institutions", params={"page": huge})
    assert r.status_code == 422 and list(problems(r)) == ["query.page"]
    for path in ("/api/v1/findings", "/api/v1/decisions", "/staff/findings", "/staff/escrow"):
        assert staff.get(path, params={"page": huge}).status_code == 422, path
    assert http.get("/api/v1/public/institutions", params={"page": "100000"}).status_code == 200


# ------------------------------------------------------------------------------------------ dates


def test_self_check_terms_are_bounded(live: LiveServer) -> None:
    doc = example_document()
    doc["courses"][0]["term"] = {"start": "0001-09-01", "end": "9999-08-31"}
    started = time.monotonic()
    r = evaluate(live, doc)
    assert r.status_code == 422 and len(r.content) < 10_000
    assert time.monotonic() - started < 5
    assert set(problems(r)) == {"courses[0].term.start", "courses[0].term.end"}
    doc["courses"][0]["term"] = {"start": "2026-09-01", "end": "9999-12-31"}
    r = evaluate(live, doc)
    assert r.status_code == 422 and list(problems(r)) == ["courses[0].term.end"]
    doc["courses"][0]["term"] = {"start": "2026-09-01", "end": "2029-07-10"}
    r = evaluate(live, doc)
    assert r.status_code == 422 and "two years" in problems(r)["courses[0].term"]
    doc["courses"][0]["term"] = {"start": "2026-09-01", "end": "2028-07-10"}
    assert evaluate(live, doc).status_code == 200


def test_as_of_lies_within_ten_years_of_today(live: LiveServer, http: httpx.Client) -> None:
    doc = example_document()
    for day in ("0001-01-01", "1990-01-01", "2037-01-01", "9999-12-31"):
        r = evaluate(live, doc, as_of=day)
        assert r.status_code == 422 and list(problems(r)) == ["query.as_of"], day
        assert http.get("/api/v1/rules", params={"as_of": day}).status_code == 422
    assert evaluate(live, doc, as_of="2017-01-01").status_code == 200
    assert http.get("/api/v1/rules", params={"as_of": "2036-11-30"}).status_code == 200


def test_a_list_dated_far_ahead_is_refused_and_blocks_nothing(strict: LiveServer, engine: Engine) -> None:
    with httpx.Client(base_url=strict.url, timeout=30) as c:
        sign_in(strict, engine, c, "supervisor")
        for day in ("2099-01-01", (TODAY + dt.timedelta(days=8)).isoformat(), "1990-01-01"):
            r = c.post("/api/v1/lists/white/publish", json={"as_of": day})
            assert r.status_code == 422 and list(problems(r)) == ["as_of"], r.text
        r = c.post("/api/v1/lists/white/publish", json={"as_of": (TODAY + dt.timedelta(days=7)).isoformat()})
        assert r.status_code in (200, 201, 409), r.text  # within the window: published, or a later one exists
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(as_of) FROM list_edition WHERE kind = 'white'")).scalar()
    assert latest is None or latest.year < 2099


# ------------------------------------------------------------------------------------------ rate limits


def test_a_failing_request_is_still_counted(strict: LiveServer, engine: Engine) -> None:
    bucket = f"test-boom{os.getpid()}"
    rate = RateLimit(bucket, lambda settings: (100, 3600))

    def boom() -> None:
        raise RuntimeError("a crash after the hit was taken")

    path = f"/api/test/{bucket}"  # an API route: no form, no CSRF token
    strict.app.add_api_route(path, boom, methods=["POST"], dependencies=[Depends(rate)])
    ROUTES[f"POST {path}"] = Perm.PUBLIC  # a route of the test's own, declared like any other
    try:
        for _ in range(2):  # a crash ends the connection: a new one each time
            with httpx.Client(base_url=strict.url, timeout=30) as c:
                assert c.post(path).status_code == 500
    finally:  # the permission table is the process's: leave it as the other tests expect it
        del ROUTES[f"POST {path}"]
        routes = strict.app.router.routes
        routes[:] = [r for r in routes if getattr(r, "path", None) != path]
    with engine.connect() as conn:
        hits = conn.execute(
            text("SELECT sum(hits) FROM rate_limit_window WHERE bucket = :b"), {"b": f"{bucket}:127.0.0.1"}
        ).scalar()
    assert hits == 2


def client_buckets(engine: Engine, name: str) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT bucket FROM rate_limit_window WHERE bucket LIKE :b"), {"b": f"{name}:%"}
        ).all()
    return {r.bucket.split(":", 1)[1] for r in rows}


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    http: httpx.Client, engine: Engine, app_engine: Engine
) -> None:
    spoofed = "203.0.113.77"
    r = http.post("/api/v1/rules/evaluate", json={}, headers={"X-Forwarded-For": spoofed})
    assert r.status_code == 422
    assert spoofed not in client_buckets(engine, "rules-evaluate")
    behind = LiveServer(app_engine, Settings(log_level="CRITICAL", trusted_proxies="127.0.0.1"))
    behind.start()
    try:
        with httpx.Client(base_url=behind.url, timeout=30) as c:
            c.post("/api/v1/rules/evaluate", json={}, headers={"X-Forwarded-For": "203.0.113.78"})
    finally:
        behind.stop()
    assert "203.0.113.78" in client_buckets(engine, "rules-evaluate")


# ----------------------------------------------------------------------------------------- the answers


def test_every_answer_carries_the_security_headers(http: httpx.Client, staff: httpx.Client) -> None:
    for r in (http.get("/"), http.get("/api/v1/rules"), http.get("/nowhere"), staff.get("/staff")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    docs = http.get("/docs")
    assert docs.status_code == 200 and "'unsafe-inline'" in docs.headers["content-security-policy"]
    assert "server" not in http.get("/livez").headers


def test_tokens_keys_and_signed_in_pages_are_never_cached(
    live: LiveServer, admin: httpx.Client, http: httpx.Client
) -> None:
    assert admin.get("/staff").headers["cache-control"] == "no-store"
    assert admin.get("/api/v1/findings").headers["cache-control"] == "no-store"
    assert http.get("/portal").headers["cache-control"] == "no-store"
    login = http.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong"})
    assert login.status_code == 401 and login.headers["cache-control"] == "no-store"
    doc = example_document()
    assert admin.post("/api/v1/institutions", json=doc).status_code == 201
    page = admin.post(f"/staff/escrow/{doc['uscc']}/keys", data={"days": "30", "label": "前台"})
    assert page.status_code == 201 and "sk_" in page.text
    assert page.headers["cache-control"] == "no-store"
    issued = admin.post(f"/api/v1/escrow/institutions/{doc['uscc']}/keys", json={"label": "API"})
    assert issued.status_code == 201 and issued.headers["cache-control"] == "no-store"
    with own_client(live) as anonymous:
        assert "no-store" not in anonymous.get("/api/v1/rules").headers.get("cache-control", "")


def test_pages_need_no_inline_script_or_style() -> None:
    """What the Content-Security-Policy refuses: inline scripts, style attributes and blocks, javascript:."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle=",
            r"javascript:",
            r"\son\w+=",
        ):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, source)]
    assert offenders == []


def test_readiness_names_no_database_error(engine: Engine) -> None:
    unreachable = make_engine("postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing")
    server = LiveServer(unreachable, Settings(log_level="CRITICAL"))
    server.start()
    try:
        r = httpx.get(f"{server.url}/readyz", timeout=30)
    finally:
        server.stop()
        unreachable.dispose()
    assert r.status_code == 503 and r.json() == {"status": "unavailable", "database": "unreachable"}


def test_a_lock_timeout_is_a_503_to_try_again(strict: LiveServer, engine: Engine) -> None:
    with httpx.Client(base_url=strict.url, timeout=30) as c:
        sign_in(strict, engine, c, "supervisor")
        with engine.connect() as blocker:
            blocker.execute(text("LOCK TABLE institution IN ACCESS EXCLUSIVE MODE"))
            r = c.get(f"/api/v1/institutions/{new_uscc()}")
            blocker.rollback()
    assert r.status_code == 503 and r.headers["retry-after"]
    assert r.json()["error"] == "unavailable" and "lock" not in r.text


def test_a_client_request_id_is_kept_only_when_safe(staff: httpx.Client, engine: Engine) -> None:
    assert (
        staff.get("/livez", headers={"X-Request-ID": "edge-42.a_b"}).headers["x-request-id"] == "edge-42.a_b"
    )
    for bad in ("<script>alert(1)</script>", "a" * 65, "a b", "请求"):
        rid = staff.get("/livez", headers=[(b"X-Request-ID", bad.encode())]).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", rid), bad
    doc = example_document()
    r = staff.post("/api/v1/institutions", json=doc, headers={"X-Request-ID": "x" * 500})
    assert r.status_code == 201
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT request_id FROM audit_log WHERE entity_key = :k"), {"k": doc["uscc"]}
        ).scalar_one()
    assert stored == r.headers["x-request-id"] and re.fullmatch(r"[0-9a-f]{32}", stored)


def test_error_answers_match_the_openapi_document(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and set(schemas["ErrorBody"]["required"]) == {
        "error",
        "detail",
        "problems",
    }
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", (path, method, code)
    evaluate_op = spec["paths"]["/api/v1/rules/evaluate"]["post"]["responses"]
    assert {"413", "422", "429"} <= set(evaluate_op)
    assert {"401", "403", "404", "422"} <= set(
        spec["paths"]["/api/v1/institutions/{uscc}"]["get"]["responses"]
    )
    assert {"401", "413", "422"} <= set(spec["paths"]["/api/v1/lists/{kind}/publish"]["post"]["responses"])
    r = http.get("/api/v1/public/institutions", params={"page": "0"})
    assert r.status_code == 422 and problems(r)


def test_405_names_the_allowed_methods(http: httpx.Client) -> None:
    r = http.delete("/livez")
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert r.json()["error"] == "method_not_allowed"
    r = http.put("/api/v1/institutions")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


def test_open_data_csv_cells_cannot_be_formulas(
    supervisor: httpx.Client, http: httpx.Client, engine: Engine
) -> None:
    from tests.lists.helpers import next_as_of

    doc = example_document(
        name='=HYPERLINK("http://evil.example","点我")', address="@SUM(1+1)*cmd|' /C calc'!A0"
    )
    assert supervisor.post("/api/v1/institutions", json=doc).status_code == 201
    with Session(engine) as s:
        day = next_as_of(s)
    r = supervisor.post("/api/v1/lists/white/publish", json={"as_of": day.isoformat()})
    assert r.status_code == 201, r.text
    csv_text = http.get("/lists/white/latest.csv").content.decode("utf-8-sig")
    [row] = [line for line in csv_text.splitlines() if line.startswith(doc["uscc"])]
    assert ",\"'=HYPERLINK(" in row and ",'@SUM(1+1)" in row
    assert "\n=" not in csv_text and ",=" not in csv_text
    # The JSON of the edition keeps the name exactly: only the spreadsheet form is neutralised.
    edition = http.get("/lists/white/latest.json").json()
    assert any(e["name"] == doc["name"] for e in edition["entries"])


# ------------------------------------------------------------------------- what the schema fuzzer found


def test_the_openapi_document_says_what_the_door_refuses(http: httpx.Client) -> None:
    """Schema-valid requests were refused: NUL in any text, a body that is not an object, a statement
    without lines, a triage without its action, ids beyond what a JSON number holds exactly."""
    from supervision.web.openapi import NO_NUL

    spec = http.get("/openapi.json").json()
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    q = next(p for p in paths["/api/v1/public/institutions"]["get"]["parameters"] if p["name"] == "q")
    assert q["schema"]["anyOf"][0]["pattern"] == NO_NUL
    assert schemas["MatchIn"]["properties"]["uscc"].get("pattern")
    assert "pattern" not in schemas["ProblemBody"]["properties"]["loc"]  # an error may name what it refused
    for path, method in (("/api/v1/institutions", "post"), ("/api/v1/rules/evaluate", "post")):
        body = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body["type"] == "object", path
    statement = paths["/api/v1/escrow/statements"]["post"]["requestBody"]["content"]["application/json"]
    assert "lines" in statement["schema"]["required"]
    assert all("action" in schemas[name]["required"] for name in ("TriageOpenIn", "TriageRejectIn"))
    assert schemas["CaseOpenIn"]["properties"]["finding_ids"]["items"]["maximum"] == 2**53 - 1
    finding = paths["/api/v1/findings/{finding_id}"]["get"]["parameters"][0]["schema"]
    assert finding["maximum"] == 2**53 - 1


def test_an_id_beyond_the_bound_is_a_422_naming_it(supervisor: httpx.Client) -> None:
    r = supervisor.get("/api/v1/attachments/75004761133971218312223260672")  # was a 422 from the database
    assert r.status_code == 422 and list(problems(r)) == ["path.attachment_id"]
    r = supervisor.post("/api/v1/decisions/proposals/111526315477242085376/return", json={"reason": "缺材料"})
    assert r.status_code == 422 and list(problems(r)) == ["path.proposal_id"]


def test_a_triage_without_its_action_is_refused(staff: httpx.Client) -> None:
    r = staff.post("/api/v1/complaints/C-0/triage", json={"reason": "不属于本局职责"})
    assert r.status_code == 422 and r.json()["error"] == "invalid"


def test_the_csv_upload_path_is_not_read_as_a_statement_number(http: httpx.Client) -> None:
    """GET /api/v1/escrow/statements/csv was served by the statement route (a 422 for "csv") and
    OPTIONS there named GET in Allow."""
    r = http.get("/api/v1/escrow/statements/csv")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = http.options("/api/v1/escrow/statements/csv")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert http.get("/api/v1/escrow/statements/7").status_code == 401
