"""A licence revoked (or suspended) by a decision in force cannot be turned back to valid by a registry edit
or a re-import: refused with the decision named; only a lift restores it."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.cases import service as cases
from supervision.cases.schemas import DecisionIn
from supervision.core.errors import Invalid
from supervision.lists import service as lists
from supervision.registry import service as registry
from supervision.registry.io import Record, import_records
from tests.cases.conftest import NOW
from tests.conftest import TODAY, example_document, save_institution


def revoke(session: Session, uscc: str) -> str:
    out = cases.record_decision(
        session,
        DecisionIn(uscc=uscc, kind="revoke_licence", basis=["CONDUCT-REFUND"], summary="拒不退费，吊销"),
        actor="test",
        officer="甲",
        now=NOW,
        approved_by="staff:乙",
    )
    return out.reference


def test_an_edit_cannot_undo_a_revocation_and_a_lift_can(session: Session) -> None:
    doc = save_institution(session, now=NOW)
    reference = revoke(session, doc["uscc"])
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "revoked"
    with pytest.raises(Invalid) as err:
        registry.save_documents(session, [registry.validate(doc)], actor="test", now=NOW)  # status: valid
    [problem] = err.value.problems
    assert problem.loc == "licence.status" and reference in problem.msg and "lift" in problem.msg
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "revoked"
    cases.record_decision(
        session,
        DecisionIn(uscc=doc["uscc"], kind="lift", lifts=reference, summary="整改完毕，解除"),
        actor="test",
        officer="甲",
        now=NOW,
        approved_by="staff:丙",
    )
    assert registry.get(session, doc["uscc"])["licence"]["status"] == "valid"
    registry.save_documents(session, [registry.validate(doc)], actor="test", now=NOW)  # allowed again


def test_a_suspension_keeps_the_licence_suspended_or_revoked(session: Session) -> None:
    doc = save_institution(session, now=NOW)
    cases.record_decision(
        session,
        DecisionIn(uscc=doc["uscc"], kind="suspend_licence", basis=["CONDUCT-REFUND"], summary="暂扣"),
        actor="test",
        officer="甲",
        now=NOW,
    )
    with pytest.raises(Invalid, match="suspended by decision"):
        registry.save_documents(session, [registry.validate(doc)], actor="test", now=NOW)
    doc["licence"]["status"] = "revoked"
    registry.save_documents(session, [registry.validate(doc)], actor="test", now=NOW)


def test_a_reimport_refuses_only_the_revoked_record_and_the_white_list_keeps_it_out(
    fresh_engine: Engine,
) -> None:
    revoked, other = example_document(), example_document()
    with Session(fresh_engine) as s:
        registry.save_documents(s, [registry.validate(revoked), registry.validate(other)], actor="t", now=NOW)
        reference = revoke(s, revoked["uscc"])
        s.commit()
    other["name"] = other["name"] + "（新址）"
    report = import_records(
        fresh_engine,
        [Record("file.jsonl:1", revoked), Record("file.jsonl:2", other)],
        actor="test",
        now=NOW,
    )
    assert report.updated == 1 and len(report.rejected) == 1
    loc, problems = report.rejected[0]
    assert loc == "file.jsonl:1" and reference in problems[0].msg
    with Session(fresh_engine) as s:
        assert registry.get(s, revoked["uscc"])["licence"]["status"] == "revoked"
        assert registry.get(s, other["uscc"])["name"].endswith("（新址）")
        lists.publish(s, as_of=TODAY + dt.timedelta(days=1), now=NOW, actor="test", jurisdiction="440106")
        served = orjson.loads(lists.document_bytes(s, lists.latest(s, "white")))
        s.commit()
    white = {e["uscc"] for e in served["entries"]}
    assert other["uscc"] in white and revoked["uscc"] not in white
