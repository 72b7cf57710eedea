"""Inspections: the checklist as configuration, the two-officer rule, every problem listed at once, a failed
item opening a case, evidence files checked by content with their SHA-256 and size cap, coverage per grid."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from rules.yamlio import DataFileError
from supervision.accounts.permissions import Actor
from supervision.cases import casework, inspections, queries
from supervision.cases.models import Attachment
from supervision.cases.schemas import CaseOpenIn, InspectionIn, ProposalIn
from supervision.core.errors import Forbidden, Invalid, TooLarge
from supervision.lists.catalogue import known_ids
from tests.cases.conftest import NOW, institution, user
from tests.conftest import TODAY, new_uscc

J = "440106"
MiB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def answers(**results: str) -> list[dict[str, Any]]:
    """Every checklist item passed, except those given (``code="fail:note"`` or ``code="n/a"``)."""
    out = []
    for item in inspections.checklist():
        result, _, note = results.get(item.code, "pass").partition(":")
        out.append({"code": item.code, "result": result, "note": note or None})
    return out


def data(officers: list[Actor], **fields: Any) -> InspectionIn:
    raw: dict[str, Any] = {
        "inspected_on": TODAY.isoformat(),
        "officers": [o.username for o in officers],
        "items": answers(),
        "note": "现场检查",
    }
    raw.update(fields)
    return inspections.parse_inspection(raw)


def record(session: Session, payload: InspectionIn, actor: Actor) -> Any:
    return inspections.record_inspection(session, payload, actor, now=NOW, jurisdiction=J)


# ------------------------------------------------------------------------------------------ checklist


def test_the_default_checklist_has_the_eight_items_each_citing_a_catalogue_id() -> None:
    items = inspections.checklist()
    assert [i.code for i in items] == [
        "licence_displayed",
        "fees_displayed",
        "teachers_displayed",
        "timetable_matches",
        "premises_safe",
        "advertising_truthful",
        "model_contract",
        "prepaid_escrow",
    ]
    assert all(i.basis in known_ids() for i in items)
    by_code = {i.code: i.basis for i in items}
    assert by_code["licence_displayed"] == "LIC-NONE"
    assert by_code["advertising_truthful"] == "CONDUCT-ADVERTISING"
    assert by_code["prepaid_escrow"] == "FEE-NO-ESCROW"


def test_a_bad_checklist_file_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "checklist.yaml"
    bad.write_text(
        "items:\n"
        "  - {code: a_item, title_zh: 甲, title_en: A, basis: NOPE-1}\n"
        "  - {code: a_item, title_zh: 乙, title_en: B, basis: LIC-NONE}\n"
        "  - {code: Bad Code, title_zh: 丙, title_en: C, basis: LIC-NONE}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as err:
        inspections.load_checklist(bad)
    text_ = "\n".join(err.value.problems)
    assert "items[0].basis" in text_ and "items[1].code" in text_ and "items[2].code" in text_


# ------------------------------------------------------------------------------------------ recording


def test_an_inspection_with_every_item_passed_is_recorded_and_opens_no_case(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    inspection = record(session, data([people["officer"], people["officer2"]], uscc=uscc), people["officer"])
    assert re.fullmatch(r"JC2026-\d{6}", inspection.reference)
    assert inspection.case_id is None and inspection.grid == "石牌" and inspection.uscc == uscc
    assert [i["result"] for i in inspection.items] == ["pass"] * 8
    out = inspections.get_inspection(session, inspection.reference)
    assert out.institution_name == "广州市天河区示例培训中心" and out.case_reference is None
    audited = session.execute(
        text("SELECT count(*) FROM audit_log WHERE entity = 'inspection' AND entity_key = :k"),
        {"k": inspection.reference},
    ).scalar_one()
    assert audited == 1


def test_a_failed_item_opens_a_case_citing_its_rule_id(session: Session, people: dict[str, Actor]) -> None:
    uscc = institution(session)
    payload = data(
        [people["officer"], people["officer2"]],
        uscc=uscc,
        items=answers(advertising_truthful="fail:门口海报承诺提分30分", model_contract="n/a"),
    )
    inspection = record(session, payload, people["officer"])
    assert inspection.case_id is not None
    case = queries.case_by_id(session, inspection.case_id)
    assert case is not None
    assert case.source == "inspection" and case.basis == ["CONDUCT-ADVERTISING"] and case.uscc == uscc
    assert inspection.reference in case.summary and "门口海报承诺提分30分" in case.summary
    assert inspections.get_inspection(session, inspection.reference).case_reference == case.reference
    # the same failure without open_case: recorded, no case
    again = record(
        session,
        data(
            [people["officer"], people["officer2"]],
            uscc=uscc,
            items=answers(advertising_truthful="fail:海报"),
            open_case=False,
        ),
        people["officer"],
    )
    assert again.case_id is None


def test_an_unregistered_operator_is_inspected_by_address_and_grid(
    session: Session, people: dict[str, Actor]
) -> None:
    payload = data(
        [people["officer"], people["supervisor"]],
        address="天河区某小区5栋302",
        grid="石牌",
        items=answers(licence_displayed="fail:无办学许可证"),
    )
    inspection = record(session, payload, people["officer"])
    case = queries.case_by_id(session, inspection.case_id or 0)
    assert case is not None and case.operator_address == "天河区某小区5栋302" and case.basis == ["LIC-NONE"]
    with pytest.raises(Invalid) as err:
        record(session, data([people["officer"], people["officer2"]], address="某地"), people["officer"])
    assert [p.loc for p in err.value.problems] == ["grid"]


def test_two_officers_take_part_and_the_recorder_is_one_of_them(
    session: Session, people: dict[str, Actor]
) -> None:
    uscc = institution(session)
    with pytest.raises(Invalid, match="cannot be recorded") as err:
        record(session, data([people["officer"]], uscc=uscc), people["officer"])
    assert any("at least two officers" in p.msg for p in err.value.problems)
    with pytest.raises(Invalid) as err:
        record(session, data([people["officer2"], people["supervisor"]], uscc=uscc), people["officer"])
    assert any("must be one of them" in p.msg for p in err.value.problems)
    inactive = user(session, "officer", active=False)
    with pytest.raises(Invalid) as err:
        record(
            session,
            data(
                [people["officer"], people["outsider"], people["admin"], inactive, people["officer"]],
                uscc=uscc,
            ),
            people["officer"],
        )
    msgs = {p.loc: p.msg for p in err.value.problems}
    assert "does not work in grid 石牌" in msgs["officers[1]"]
    assert "not an officer" in msgs["officers[2]"]
    assert "not an active staff user" in msgs["officers[3]"]
    assert "listed twice" in msgs["officers"]


def test_admins_and_auditors_record_no_inspection(session: Session, people: dict[str, Actor]) -> None:
    uscc = institution(session)
    for who in ("admin", "auditor"):
        with pytest.raises(Forbidden):
            record(session, data([people[who], people["officer"]], uscc=uscc), people[who])


def test_bad_input_lists_every_problem_at_once(session: Session, people: dict[str, Actor]) -> None:
    items = answers(fees_displayed="fail")  # a fail with no note
    items = [i for i in items if i["code"] != "premises_safe"]  # one item not answered
    items.append({"code": "no_such_item", "result": "pass"})
    items.append({"code": "licence_displayed", "result": "pass"})  # answered twice
    payload = data(
        [people["officer"]],
        uscc=new_uscc(),
        inspected_on=(TODAY + dt.timedelta(days=1)).isoformat(),
        items=items,
    )
    with pytest.raises(Invalid) as err:
        record(session, payload, people["officer"])
    locs = [p.loc for p in err.value.problems]
    assert "uscc" in locs and "inspected_on" in locs and "officers" in locs
    assert "items[1].note" in locs  # fees_displayed failed without a note
    assert f"items[{len(items) - 2}].code" in locs and f"items[{len(items) - 1}].code" in locs
    assert any(p.loc == "items" and "premises_safe" in p.msg for p in err.value.problems)
    with pytest.raises(Invalid) as err:  # shape errors from the parser, every one of them
        inspections.parse_inspection({"officers": "x", "items": [{"code": "a", "result": "maybe"}]})
    assert {"inspected_on", "officers", "items[0].result"} <= {p.loc for p in err.value.problems}


# ------------------------------------------------------------------------------------------ files


@pytest.fixture
def inspected(session: Session, people: dict[str, Actor]) -> int:
    inspection = record(
        session, data([people["officer"], people["officer2"]], uscc=institution(session)), people["officer"]
    )
    return inspection.id or 0


def attach(
    session: Session, owner_id: int, name: str, content: bytes, actor: Actor | str, owner: str = "inspection"
) -> Attachment:
    return inspections.attach_file(session, owner, owner_id, name, content, actor, now=NOW)


def test_the_type_is_checked_by_content_not_by_name(
    session: Session, people: dict[str, Actor], inspected: int
) -> None:
    officer = people["officer"]
    assert attach(session, inspected, "photo.pdf", PNG, officer).content_type == "image/png"
    assert attach(session, inspected, "a.jpg", JPEG, officer).content_type == "image/jpeg"
    assert attach(session, inspected, "a.webp", WEBP, officer).content_type == "image/webp"
    assert attach(session, inspected, "笔录.pdf", PDF, officer).content_type == "application/pdf"
    with pytest.raises(Invalid, match="cannot be kept"):
        attach(session, inspected, "photo.jpg", "这不是图片，只是一段文字".encode(), officer)
    with pytest.raises(Invalid):
        attach(session, inspected, "empty.png", b"", officer)
    with pytest.raises(Invalid):
        attach(session, inspected, "page.jpg", b"<html><body>hi</body></html>", officer)
    kept = inspections.attachments(session, "inspection", inspected)
    assert [a.filename for a in kept] == ["photo.pdf", "a.jpg", "a.webp", "笔录.pdf"]


def test_the_size_cap_is_ten_mebibytes(session: Session, people: dict[str, Actor], inspected: int) -> None:
    exactly = PNG + b"\x00" * (10 * MiB - len(PNG))
    assert len(exactly) == 10 * MiB
    kept = attach(session, inspected, "big.png", exactly, people["officer"])
    assert kept.size_bytes == 10 * MiB
    with pytest.raises(TooLarge) as err:
        attach(session, inspected, "bigger.png", exactly + b"\x00", people["officer"])
    assert err.value.status == 413


def test_the_sha256_is_kept_and_the_content_is_for_staff(
    session: Session, people: dict[str, Actor], inspected: int
) -> None:
    kept = attach(session, inspected, "../../etc/现场照片.png", PNG, people["officer"])
    assert kept.sha256 == hashlib.sha256(PNG).hexdigest() and kept.size_bytes == len(PNG)
    assert kept.filename == "现场照片.png" and kept.uploaded_by == people["officer"].name
    meta, content = inspections.attachment_content(session, kept.id or 0, people["auditor"])
    assert content == PNG and meta.sha256 == kept.sha256 and meta.content_type == "image/png"
    with pytest.raises(Forbidden):  # not in the inspection's grid
        attach(session, inspected, "x.png", PNG, people["outsider"])
    with pytest.raises(Forbidden):
        attach(session, inspected, "x.png", PNG, people["auditor"])
    with pytest.raises(Forbidden):  # an institution attaches only to its own statement
        attach(session, inspected, "x.png", PNG, f"institution:{new_uscc()}")


def test_the_institution_attaches_files_to_its_statement(session: Session, people: dict[str, Actor]) -> None:
    uscc = institution(session)
    case = casework.open_case(
        session,
        CaseOpenIn(uscc=uscc, basis=["LIC-EXPIRED"], summary="执照过期"),
        people["officer"],
        now=NOW,
        jurisdiction=J,
    )
    casework.start(session, case.reference, people["officer"], version=case.version, now=NOW)
    casework.propose(
        session,
        case.reference,
        ProposalIn(kind="blacklist", basis=["LIC-EXPIRED"], summary="列入黑名单"),
        people["officer"],
        version=case.version,
        now=NOW,
    )
    proposal = casework.approve(
        session, case.reference, people["supervisor"], version=case.version, now=NOW, jurisdiction=J
    )
    kept = attach(session, proposal.id or 0, "续期证明.pdf", PDF, f"institution:{uscc}", owner="proposal")
    assert kept.uploaded_by == f"institution:{uscc}" and kept.content_type == "application/pdf"
    events = queries.events_of_case(session, case.id or 0)
    assert events[-1].kind == "attachment" and events[-1].actor == f"institution:{uscc}"
    with pytest.raises(Forbidden):
        attach(session, proposal.id or 0, "x.pdf", PDF, f"institution:{new_uscc()}", owner="proposal")
    with pytest.raises(Forbidden):
        attach(session, proposal.id or 0, "x.pdf", PDF, people["officer"], owner="proposal")
    # staff attach evidence to the case itself
    assert attach(session, case.id or 0, "笔录.pdf", PDF, people["officer"], owner="case").owner == "case"


# ------------------------------------------------------------------------------------------ coverage


def test_coverage_counts_operating_institutions_inspected_in_the_last_twelve_months(
    session: Session, people: dict[str, Actor]
) -> None:
    grid = "珠吉"
    a, b, _ = (institution(session, grid=grid) for _ in range(3))
    institution(session, grid=grid, status="closed")
    two = [people["supervisor"], people["supervisor2"]]
    year_ago = dt.date(TODAY.year - 1, TODAY.month, TODAY.day)
    record(session, data(two, uscc=a, inspected_on=(year_ago + dt.timedelta(days=1)).isoformat()), two[0])
    record(session, data(two, uscc=a, inspected_on=TODAY.isoformat()), two[0])  # counted once
    record(session, data(two, uscc=b, inspected_on=year_ago.isoformat()), two[0])  # too long ago
    rows = inspections.coverage(session, TODAY, grid=grid)
    assert [(r.grid, r.operating, r.inspected) for r in rows] == [(grid, 3, 1)]
    assert rows[0].share == pytest.approx(1 / 3)
    everywhere = {r.grid: r for r in inspections.coverage(session, TODAY)}
    assert everywhere[grid].inspected == 1
