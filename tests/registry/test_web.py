"""The staff registry API and the public read API, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import example_document, new_uscc


@pytest.fixture
def staff(admin: httpx.Client) -> httpx.Client:
    """These tests act as a admin: deleting institutions needs an administrator or a supervisor."""
    return admin


def test_create_get_round_trip_is_identical(staff: httpx.Client) -> None:
    doc = example_document()
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 201, r.text
    assert r.json() == doc
    got = staff.get(f"/api/v1/institutions/{doc['uscc']}")
    assert got.status_code == 200
    assert got.json() == doc


def test_create_twice_conflicts(staff: httpx.Client) -> None:
    doc = example_document()
    assert staff.post("/api/v1/institutions", json=doc).status_code == 201
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 409
    assert r.json()["error"] == "already_exists"


def test_replace_changes_children_and_writes_audit(staff: httpx.Client) -> None:
    doc = example_document()
    staff.put(f"/api/v1/institutions/{doc['uscc']}", json=doc).raise_for_status()
    doc["courses"][0]["weekly_slots"] = [{"weekday": 2, "start": "16:00", "end": "16:45"}]
    doc["teachers"].append(
        {"code": "T2", "name": "李老师", "has_teacher_certificate": False, "serving_school_teacher": False}
    )
    r = staff.put(f"/api/v1/institutions/{doc['uscc']}", json=doc)
    assert r.status_code == 200
    assert r.json() == doc
    # the same document again changes nothing
    assert staff.put(f"/api/v1/institutions/{doc['uscc']}", json=doc).status_code == 200


def test_every_problem_is_listed_with_its_path(staff: httpx.Client) -> None:
    doc = example_document()
    doc["uscc"] = "12345"
    doc["colour"] = "blue"
    doc["premises"][0]["area_m2"] = 320.5
    doc["courses"][0]["weekly_slots"][0]["end"] = "18:00"
    doc["courses"][0]["price_per_lesson_fen"] = "7000"
    doc["licence"]["valid_until"] = "2027-02-30"
    doc["teachers"].append(dict(doc["teachers"][0]))
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid"
    locs = {p["loc"] for p in body["problems"]}
    assert {
        "uscc",
        "colour",
        "premises[0].area_m2",
        "courses[0].weekly_slots[0]",
        "courses[0].price_per_lesson_fen",
        "licence.valid_until",
    } <= locs, body


def test_duplicate_codes_and_unknown_teacher_are_rejected(staff: httpx.Client) -> None:
    doc = example_document()
    doc["teachers"].append(dict(doc["teachers"][0]))
    doc["courses"][0]["teacher_codes"] = ["T1", "T9"]
    r = staff.post("/api/v1/institutions", json=doc)
    assert r.status_code == 422
    msg = " ".join(p["msg"] for p in r.json()["problems"])
    assert "teacher codes must be unique" in msg and "T9" in msg


def test_malformed_json_is_a_clear_422(staff: httpx.Client) -> None:
    r = staff.post(
        "/api/v1/institutions", content=b'{"uscc": "x",', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"] == "invalid"


def test_wrong_check_character_is_kept(staff: httpx.Client) -> None:
    doc = example_document()
    good = doc["uscc"]
    doc["uscc"] = good[:17] + ("0" if good[17] != "0" else "1")
    assert staff.post("/api/v1/institutions", json=doc).status_code == 201


def test_staff_api_requires_sign_in(http: httpx.Client) -> None:
    r = http.get("/api/v1/institutions")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    r = http.post("/api/v1/institutions", json=example_document(), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_logout_revokes_the_session(staff: httpx.Client) -> None:
    assert staff.get("/api/v1/institutions").status_code == 200
    assert staff.post("/api/v1/auth/logout").status_code == 204
    assert staff.get("/api/v1/institutions").status_code == 401


def test_search_by_name_substring_code_and_licence(staff: httpx.Client) -> None:
    doc = example_document(name=f"广州市天河区独角兽{new_uscc()[-6:]}科技培训中心", grid="龙洞")
    staff.post("/api/v1/institutions", json=doc).raise_for_status()
    for q in ("独角兽", doc["name"][3:9], doc["uscc"], doc["uscc"].lower(), doc["licence"]["number"]):
        r = staff.get("/api/v1/institutions", params={"q": q})
        assert r.status_code == 200
        assert doc["uscc"] in {i["uscc"] for i in r.json()["items"]}, q
    r = staff.get("/api/v1/institutions", params={"q": "独角兽", "grid": "石牌"})
    assert doc["uscc"] not in {i["uscc"] for i in r.json()["items"]}
    r = staff.get("/api/v1/institutions", params={"q": "独角兽", "category": "non_subject"})
    assert doc["uscc"] not in {i["uscc"] for i in r.json()["items"]}
    r = staff.get("/api/v1/institutions", params={"q": "100%_"})
    assert r.status_code == 200


def test_public_record_hides_private_fields(staff: httpx.Client) -> None:
    doc = example_document()
    staff.post("/api/v1/institutions", json=doc).raise_for_status()
    r = httpx.get(f"{staff.base_url}/api/v1/public/institutions/{doc['uscc']}")
    assert r.status_code == 200
    text = r.text
    assert "张老师" not in text and "1234" not in text.replace(doc["uscc"], "")
    assert r.json()["name"] == doc["name"]
    s = httpx.get(f"{staff.base_url}/api/v1/public/institutions", params={"q": doc["uscc"]})
    assert s.json()["items"][0]["uscc"] == doc["uscc"]
    assert "teachers" not in s.json()["items"][0]


def test_delete_then_404(staff: httpx.Client) -> None:
    doc = example_document()
    staff.post("/api/v1/institutions", json=doc).raise_for_status()
    assert staff.delete(f"/api/v1/institutions/{doc['uscc']}").status_code == 204
    r = staff.get(f"/api/v1/institutions/{doc['uscc']}")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_probes(http: httpx.Client) -> None:
    assert http.get("/livez").json() == {"status": "ok"}
    assert http.get("/readyz").json()["database"] == "ok"
    r = http.get("/docs")
    assert r.status_code == 200 and "cdn" not in r.text.lower()
    assert http.get("/openapi.json").status_code == 200


def test_oversized_body_is_a_clear_413(staff: httpx.Client, live) -> None:  # type: ignore[no-untyped-def]
    limit = live.app.state.settings.max_upload_bytes
    r = staff.post(
        "/api/v1/institutions", content=b"x" * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // (1 << 20) + 2):
            yield b" " * (1 << 20)

    r = staff.post("/api/v1/institutions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
