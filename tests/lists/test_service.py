"""Deriving the lists as of a date and publishing chained, hashed, immutable editions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.lists import queries
from supervision.lists import service as lists
from tests.conftest import save_institution
from tests.lists.helpers import NOW, decide, next_as_of, open_finding, recompute


def publish(session: Session, as_of: dt.date, **kw: Any) -> dict[str, lists.Outcome]:
    outcomes = lists.publish(session, as_of=as_of, now=NOW, actor="test", jurisdiction="440106", **kw)
    return {o.kind: o for o in outcomes}


def served(session: Session, kind: str, seq: int) -> dict[str, Any]:
    ed = lists.edition(session, kind, seq)
    out: dict[str, Any] = json.loads(lists.document_bytes(session, ed))
    return out


def entry(session: Session, kind: str, seq: int, uscc: str) -> dict[str, Any] | None:
    return next((e for e in served(session, kind, seq)["entries"] if e["uscc"] == uscc), None)


def test_each_institution_lands_on_the_right_list(session: Session) -> None:
    clean = save_institution(session)
    ordered = save_institution(session)
    suspended = save_institution(session)
    black = save_institution(session, licence=None, status="operating")
    black_and_ordered = save_institution(session)
    expired = save_institution(session)
    expired["licence"]["valid_until"] = "2026-01-31"
    expired["licence"]["issued_on"] = "2023-05-01"
    save_institution(session, expired)
    no_escrow = save_institution(session, escrow={"mode": None, "bank": None, "account_last4": None})
    out_of_scope = save_institution(session)
    out_of_scope["courses"][0]["mode"] = "online"
    save_institution(session, out_of_scope)

    order = decide(session, ordered["uscc"], "rectification_order", basis=["TIME-OFFLINE-LATE"])
    decide(session, suspended["uscc"], "suspend_licence", basis=["CONDUCT-REFUND"])
    bl = decide(session, black["uscc"], "blacklist", basis=["LIC-NONE", "CONDUCT-DISGUISED"])
    decide(session, black_and_ordered["uscc"], "rectification_order")
    decide(session, black_and_ordered["uscc"], "blacklist")

    as_of = next_as_of(session)
    res = publish(session, as_of)
    assert {k: o.status for k, o in res.items()} == {
        "black": "published",
        "warning": "published",
        "white": "published",
    }
    where: dict[str, list[str]] = {}
    for kind in ("white", "warning", "black"):
        for e in served(session, kind, res[kind].seq or 0)["entries"]:
            where.setdefault(e["uscc"], []).append(kind)
    assert all(len(kinds) == 1 for kinds in where.values()), "an institution on two lists"
    assert where[clean["uscc"]] == ["white"]
    assert where[ordered["uscc"]] == ["warning"]
    assert where[suspended["uscc"]] == ["warning"]
    assert where[black["uscc"]] == ["black"]
    assert where[black_and_ordered["uscc"]] == ["black"]
    for gone in (expired, no_escrow, out_of_scope):
        assert gone["uscc"] not in where
    e = entry(session, "warning", res["warning"].seq or 0, ordered["uscc"])
    assert (
        e is not None and e["reason"] == f"TIME-OFFLINE-LATE {order.reference}" and e["since"] == "2026-11-30"
    )
    e = entry(session, "black", res["black"].seq or 0, black["uscc"])
    assert e is not None and e["reason"] == f"LIC-NONE,CONDUCT-DISGUISED {bl.reference}"
    assert e["licence_number"] is None
    e = entry(session, "white", res["white"].seq or 0, clean["uscc"])
    assert e is not None and e["reason"] is None and e["categories"] == ["subject"]
    reasons = lists.not_white_reasons(
        session, [expired["uscc"], no_escrow["uscc"], out_of_scope["uscc"]], as_of
    )
    assert reasons == {
        expired["uscc"]: ["licence_expired"],
        no_escrow["uscc"]: ["no_escrow"],
        out_of_scope["uscc"]: ["out_of_scope"],
    }


def test_open_critical_finding_keeps_an_institution_off_the_white_list(session: Session) -> None:
    doc = save_institution(session)
    iid = session.execute(text("SELECT id FROM institution WHERE uscc = :u"), {"u": doc["uscc"]}).scalar_one()
    open_finding(session, iid, "FEE-ESCROW-SHORTFALL", "critical")
    open_finding(session, iid, "PREM-AREA", "major")
    as_of = next_as_of(session)
    res = publish(session, as_of)
    assert entry(session, "white", res["white"].seq or 0, doc["uscc"]) is None
    assert lists.not_white_reasons(session, [doc["uscc"]], as_of)[doc["uscc"]] == [
        "critical:FEE-ESCROW-SHORTFALL"
    ]


def test_editions_chain_hash_and_record_differences(session: Session) -> None:
    stays = save_institution(session)
    leaves = save_institution(session)
    first_day = next_as_of(session)
    one = publish(session, first_day)
    white1 = served(session, "white", one["white"].seq or 0)
    assert recompute(white1) == white1["sha256"] == one["white"].sha256
    since = entry(session, "white", one["white"].seq or 0, stays["uscc"])["since"]  # type: ignore[index]

    order = decide(session, leaves["uscc"], "rectification_order", basis=["FEE-PREPAY-CAP"])
    two = publish(session, first_day + dt.timedelta(days=7))
    white2 = served(session, "white", two["white"].seq or 0)
    assert two["white"].seq == (one["white"].seq or 0) + 1
    assert white2["prev_sha256"] == white1["sha256"]
    assert recompute(white2) == white2["sha256"]
    assert entry(session, "white", two["white"].seq or 0, stays["uscc"])["since"] == since  # type: ignore[index]

    ed = lists.edition(session, "white", two["white"].seq or 0)
    _, changes = queries.changes(session, ed["id"], limit=10_000, offset=0)
    mine = {c["uscc"]: c for c in changes}
    assert mine[leaves["uscc"]]["change"] == "left"
    assert mine[leaves["uscc"]]["why"] == ["moved:warning"]
    wed = lists.edition(session, "warning", two["warning"].seq or 0)
    _, wchanges = queries.changes(session, wed["id"], limit=10_000, offset=0)
    moved = {c["uscc"]: c for c in wchanges}[leaves["uscc"]]
    assert moved["change"] == "entered" and moved["why"] == ["from:white"]
    assert moved["reason"] == f"FEE-PREPAY-CAP {order.reference}"

    lift = decide(session, leaves["uscc"], "lift", lifts=order.reference)
    three = publish(session, first_day + dt.timedelta(days=14))
    wed3 = lists.edition(session, "warning", three["warning"].seq or 0)
    _, w3 = queries.changes(session, wed3["id"], limit=10_000, offset=0)
    back = {c["uscc"]: c for c in w3}[leaves["uscc"]]
    assert back["change"] == "left" and back["why"] == ["moved:white", f"lifted:{lift.reference}"]


def test_publishing_twice_or_backwards_changes_nothing(session: Session) -> None:
    save_institution(session)
    day = next_as_of(session)
    first = publish(session, day)
    again = publish(session, day)
    assert {o.status for o in again.values()} == {"already_published"}
    assert again["white"].seq == first["white"].seq and again["white"].sha256 == first["white"].sha256
    earlier = publish(session, day - dt.timedelta(days=1))
    assert {o.status for o in earlier.values()} == {"superseded"}
    only_black = publish(session, day + dt.timedelta(days=1), kinds=["black"])
    assert list(only_black) == ["black"]


def test_published_editions_entries_and_changes_cannot_be_altered(session: Session) -> None:
    save_institution(session)
    day = next_as_of(session)
    publish(session, day)
    save_institution(session)
    res = publish(session, day + dt.timedelta(days=1))
    ed = lists.edition(session, "white", res["white"].seq or 0)
    assert ed["entered_count"] >= 1
    for stmt in (
        "UPDATE list_edition SET sha256 = 'x' WHERE id = :i",
        "DELETE FROM list_edition WHERE id = :i",
        "UPDATE list_entry SET name = 'x' WHERE edition_id = :i",
        "DELETE FROM list_entry WHERE edition_id = :i",
        "DELETE FROM list_change WHERE edition_id = :i",
        "UPDATE list_change SET why = '{}' WHERE edition_id = :i",
    ):
        with pytest.raises(DBAPIError, match=r"immutable|append-only"), session.begin_nested():
            session.execute(text(stmt), {"i": ed["id"]})
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text("TRUNCATE list_edition CASCADE"))
    audit = session.execute(
        text("SELECT after FROM audit_log WHERE entity = 'list_edition' AND entity_key = :k"),
        {"k": f"white:{ed['seq']}"},
    ).scalar_one()
    assert audit["sha256"] == ed["sha256"] and audit["entries"] == ed["entry_count"]


def test_blacklist_until_passes_and_the_institution_leaves(session: Session) -> None:
    doc = save_institution(session)
    day = next_as_of(session)
    bl = decide(session, doc["uscc"], "blacklist", basis=["CONDUCT-REFUND"], until=day.isoformat())
    first = publish(session, day)
    assert entry(session, "black", first["black"].seq or 0, doc["uscc"]) is not None
    second = publish(session, day + dt.timedelta(days=1))
    assert entry(session, "black", second["black"].seq or 0, doc["uscc"]) is None
    ed = lists.edition(session, "black", second["black"].seq or 0)
    _, changes = queries.changes(session, ed["id"], limit=10_000, offset=0)
    why = {c["uscc"]: c["why"] for c in changes}[doc["uscc"]]
    assert why == ["moved:white", f"ended:{bl.reference}:{day.isoformat()}"]


def test_entries_are_sorted_by_credit_code_bytes(session: Session) -> None:
    for _ in range(5):
        save_institution(session)
    res = publish(session, next_as_of(session))
    usccs = [e["uscc"] for e in served(session, "white", res["white"].seq or 0)["entries"]]
    assert usccs == sorted(usccs) and len(usccs) >= 5
