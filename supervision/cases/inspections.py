"""Inspections (检查): on-site inspection records by at least two officers (《行政处罚法》 art. 42) against a
checklist that is configuration, the evidence files kept with inspections, cases and the institution's
statements, and each grid's inspection coverage for the dashboard (``enforcement.md``, Inspections).

An inspection record is append-only (a database trigger refuses changes): a correction is a new record. A
failed item can open a case citing the item's rule or conduct ID; the case is opened first so the record is
written once, naming it. Evidence files have their type checked by their content, never by their name, and
are served to staff only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from rules.uscc import is_well_formed
from rules.yamlio import DataFileError, load_file
from supervision.accounts.permissions import Actor, Perm, Role, actor_of, can, in_grid
from supervision.cases import casework, queries
from supervision.cases.casework import open_case
from supervision.cases.models import Attachment, Inspection
from supervision.cases.schemas import (
    AttachmentOut,
    CaseOpenIn,
    ChecklistItem,
    CoverageRow,
    InspectionIn,
    InspectionItemOut,
    InspectionOut,
)
from supervision.core import audit, rulebook
from supervision.core.clock import business_date
from supervision.core.errors import Forbidden, Invalid, NotFound, Problem, TooLarge, problems_from_pydantic
from supervision.core.pagination import MAX_PAGE_SIZE
from supervision.lists.catalogue import known_ids
from supervision.registry import queries as registry_queries
from supervision.settings import get_settings

DEFAULT_CHECKLIST = Path(__file__).with_name("checklist.yaml")
OWNERS = ("inspection", "case", "proposal")
INSTITUTION_PREFIX = "institution:"


# ------------------------------------------------------------------------------------------ checklist


def checklist() -> tuple[ChecklistItem, ...]:
    """The checklist in force: the file named by ``SUPERVISION_INSPECTION_CHECKLIST``, else the default
    one; loaded and checked once per process."""
    return load_checklist(get_settings().inspection_checklist or DEFAULT_CHECKLIST)


@lru_cache(maxsize=4)
def load_checklist(path: Path) -> tuple[ChecklistItem, ...]:
    """Load and check a checklist file. Raises :class:`DataFileError` listing every problem (a malformed
    item, a code used twice, a basis that is not a rule or conduct ID of the catalogue)."""
    raw = load_file(path)
    items = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise DataFileError([f"{path}: needs a non-empty list `items`"])
    problems: list[str] = []
    out: list[ChecklistItem] = []
    seen: set[str] = set()
    for n, entry in enumerate(items):
        try:
            item = ChecklistItem.model_validate(entry)
        except ValidationError as exc:
            problems += [
                f"{path}: {p.loc}: {p.msg}" for p in problems_from_pydantic(exc.errors(), f"items[{n}]")
            ]
            continue
        if item.code in seen:
            problems.append(f"{path}: items[{n}].code: {item.code} is used twice")
        if item.basis not in known_ids():
            problems.append(
                f"{path}: items[{n}].basis: {item.basis} is not a rule or conduct ID of the catalogue"
            )
        seen.add(item.code)
        out.append(item)
    if problems:
        raise DataFileError(problems)
    return tuple(out)


# ------------------------------------------------------------------------------------------ recording


def parse_inspection(raw: Any) -> InspectionIn:
    """Validate an inspection sent as JSON or a form; raises :class:`Invalid` listing every problem."""
    if not isinstance(raw, dict):
        raise Invalid("an inspection must be a JSON object", [Problem("$", "not an object")])
    try:
        return InspectionIn.model_validate(raw)
    except ValidationError as exc:
        raise Invalid("the inspection is not valid", problems_from_pydantic(exc.errors())) from None


def record_inspection(
    session: Session, data: InspectionIn, actor: Actor, *, now: dt.datetime, jurisdiction: str
) -> Inspection:
    """Record an inspection (检查记录) of a registered institution (``uscc``) or an unregistered operator
    (``address`` and ``grid``). Checked whole, every problem listed at once (:class:`Invalid`): the date is
    not in the future; at least two officers, each an active officer or supervisor working in the grid, the
    recorder among them; every checklist item answered once, a ``fail`` with a note. The reference is like
    JC2026-000123. When an item fails and ``data.open_case`` is set, a case (source ``inspection``) is opened
    citing the failed items' rule or conduct IDs, and the record names it."""
    if not actor.is_system and (
        actor.role not in (Role.OFFICER, Role.SUPERVISOR) or not can(actor, Perm.CASE_WORK)
    ):
        raise Forbidden(f"a {actor.role} does not record inspections")
    today = business_date(now)
    problems: list[Problem] = []

    uscc = data.uscc.upper() if data.uscc else None
    name: str | None = None
    grid = data.grid
    if uscc is not None:
        doc = registry_queries.document(session, uscc) if is_well_formed(uscc) else None
        if doc is None:
            problems.append(Problem("uscc", f"no institution is registered with credit code {uscc}"))
            grid = None
        else:
            if data.grid is not None and data.grid != doc["grid"]:
                problems.append(Problem("grid", f"the institution is in grid {doc['grid']}, not {data.grid}"))
            name, grid = doc["name"], doc["grid"]
    elif not data.address:
        problems.append(
            Problem("uscc", "name the institution (uscc) or the address of an unregistered operator")
        )
    if uscc is None and data.address and grid is None:
        problems.append(Problem("grid", "name the grid of an unregistered operator"))
    elif uscc is None and grid is not None and grid not in rulebook.grids(jurisdiction):
        problems.append(Problem("grid", f"{grid} is not a grid of this jurisdiction"))
        grid = None

    if data.inspected_on > today:
        problems.append(Problem("inspected_on", f"is after today ({today})"))

    problems += _officer_problems(session, data.officers, actor, grid)
    items, item_problems = _answers(data)
    problems += item_problems
    if problems:
        raise Invalid("the inspection cannot be recorded", problems)
    assert grid is not None
    if not in_grid(actor, grid):
        raise Forbidden(f"grid {grid} is not one of yours")

    inspection_id = queries.next_inspection_id(session)
    reference = f"JC{today.year}-{inspection_id:06d}"
    case_id: int | None = None
    failed = [i for i in items if i["result"] == "fail"]
    if failed and data.open_case:
        case = open_case(
            session,
            CaseOpenIn(
                source="inspection",
                uscc=uscc,
                operator_address=None if uscc else data.address,
                grid=grid,
                basis=list(dict.fromkeys(i["basis"] for i in failed)),
                summary=data.case_summary or _case_summary(reference, failed),
            ),
            actor,
            now=now,
            jurisdiction=jurisdiction,
        )
        case_id = case.id
        casework.record_event(
            session,
            case.id or 0,
            actor.name,
            "note",
            note=f"opened from inspection {reference} (检查发现问题立案)",
            data={"inspection": reference, "failed": [i["code"] for i in failed]},
            now=now,
        )
    inspection = Inspection(
        id=inspection_id,
        reference=reference,
        uscc=uscc,
        institution_name=name,
        address=data.address,
        grid=grid,
        inspected_on=data.inspected_on,
        officers=list(dict.fromkeys(data.officers)),
        items=items,
        note=data.note or None,
        case_id=case_id,
        recorded_by=actor.name,
        recorded_at=now,
    )
    session.add(inspection)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor.name,
        action="record",
        entity="inspection",
        key=reference,
        before=None,
        after=inspection_out(session, inspection).model_dump(mode="json"),
    )
    session.flush()
    return inspection


def _officer_problems(session: Session, officers: list[str], actor: Actor, grid: str | None) -> list[Problem]:
    problems: list[Problem] = []
    names = list(dict.fromkeys(officers))
    if len(names) != len(officers):
        problems.append(Problem("officers", "an officer is listed twice"))
    if len(names) < 2:
        problems.append(
            Problem("officers", "at least two officers take part in an inspection (《行政处罚法》 art. 42)")
        )
    if not actor.is_system and actor.username not in names:
        problems.append(
            Problem("officers", f"the officer recording it ({actor.username}) must be one of them")
        )
    users = queries.active_staff(session, names)
    for n, username in enumerate(officers):
        user = users.get(username)
        if user is None:
            problems.append(Problem(f"officers[{n}]", f"{username} is not an active staff user"))
        elif user.role not in ("officer", "supervisor"):
            problems.append(Problem(f"officers[{n}]", f"{username} is a {user.role}, not an officer"))
        elif grid is not None and not in_grid(actor_of(user), grid):
            problems.append(Problem(f"officers[{n}]", f"{username} does not work in grid {grid}"))
    return problems


def _answers(data: InspectionIn) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The answers in checklist order with their titles and basis, and every problem with them."""
    problems: list[Problem] = []
    by_code: dict[str, int] = {}
    known = {item.code: item for item in checklist()}
    for n, answer in enumerate(data.items):
        if answer.code not in known:
            problems.append(Problem(f"items[{n}].code", f"{answer.code} is not an item of the checklist"))
        elif answer.code in by_code:
            problems.append(Problem(f"items[{n}].code", f"{answer.code} is answered twice"))
        else:
            by_code[answer.code] = n
        if answer.result == "fail" and not answer.note:
            problems.append(Problem(f"items[{n}].note", "a failed item needs a note saying what was found"))
    items: list[dict[str, Any]] = []
    for item in known.values():
        if item.code not in by_code:
            problems.append(Problem("items", f"{item.code} ({item.title_zh}) is not answered"))
            continue
        answer = data.items[by_code[item.code]]
        items.append(
            {
                "code": item.code,
                "title": item.title_zh,
                "basis": item.basis,
                "result": answer.result,
                "note": answer.note or None,
            }
        )
    return items, problems


def _case_summary(reference: str, failed: list[dict[str, Any]]) -> str:
    found = "；".join(f"{i['title']}：{i['note']}" for i in failed)
    summary = f"检查{reference}发现问题：{found}"
    return summary if len(summary) <= 4000 else summary[:3999] + "…"


def inspection_out(session: Session, inspection: Inspection) -> InspectionOut:
    return InspectionOut(
        id=inspection.id or 0,
        reference=inspection.reference,
        uscc=inspection.uscc,
        institution_name=inspection.institution_name,
        address=inspection.address,
        grid=inspection.grid,
        inspected_on=inspection.inspected_on,
        officers=list(inspection.officers),
        items=[InspectionItemOut.model_validate(i) for i in inspection.items],
        note=inspection.note,
        case_reference=queries.case_reference_of(session, inspection.case_id) if inspection.case_id else None,
        recorded_by=inspection.recorded_by,
        recorded_at=inspection.recorded_at,
    )


def get_inspection(session: Session, reference: str) -> InspectionOut:
    inspection = queries.inspection_by_reference(session, reference)
    if inspection is None:
        raise NotFound(f"no inspection with reference {reference}")
    return inspection_out(session, inspection)


def list_inspections(
    session: Session, *, uscc: str | None = None, grid: str | None = None, limit: int, offset: int
) -> tuple[int, list[InspectionOut]]:
    """Inspections, newest first, of one institution or grid (or all)."""
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise Invalid("the inspections cannot be listed so", [Problem("limit", f"1 to {MAX_PAGE_SIZE}")])
    total, rows = queries.inspections(session, uscc=uscc, grid=grid, limit=limit, offset=offset)
    return total, [inspection_out(session, r) for r in rows]


# ------------------------------------------------------------------------------------------ evidence files

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


def sniff(content: bytes) -> str | None:
    """The type of a file by its first bytes: JPEG, PNG, WebP or PDF; ``None`` for anything else."""
    for magic, content_type in _SIGNATURES:
        if content.startswith(magic):
            return content_type
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def _clean_filename(filename: str) -> str:
    """The last part of the name the uploader gave, without control characters, at most 200 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return base[:200] or "file"


@dataclass(frozen=True)
class _Owner:
    grid: str | None
    case_id: int | None
    uscc: str | None


def _owner(session: Session, owner: str, owner_id: int) -> _Owner:
    if owner == "inspection":
        inspection = queries.inspection_by_id(session, owner_id)
        if inspection is not None:
            return _Owner(inspection.grid, inspection.case_id, inspection.uscc)
    elif owner == "case":
        case = queries.case_by_id(session, owner_id)
        if case is not None:
            return _Owner(case.grid, case.id, case.uscc)
    elif owner == "proposal":
        proposal = queries.proposal_by_id(session, owner_id)
        if proposal is not None:
            case = queries.case_by_id(session, proposal.case_id)
            return _Owner(case.grid if case else None, proposal.case_id, proposal.uscc)
    else:
        raise Invalid("unknown owner", [Problem("owner", f"one of {', '.join(OWNERS)}")])
    raise NotFound(f"no {owner} {owner_id}")


def _uploader(session: Session, owner: str, owner_id: int, actor: Actor | str, today: dt.date) -> str:
    """Who uploads, after checking they may: staff (officers and supervisors in the grid) attach to
    inspections and cases; the institution (``institution:USCC``) attaches to its own statement on a notice
    served on it, within the statement period."""
    subject = _owner(session, owner, owner_id)
    if isinstance(actor, str):
        uscc = actor.removeprefix(INSTITUTION_PREFIX)
        if not actor.startswith(INSTITUTION_PREFIX) or owner != "proposal" or uscc != subject.uscc:
            raise Forbidden("an institution attaches files only to its own statement")
        proposal = queries.proposal_by_id(session, owner_id)
        assert proposal is not None
        if proposal.status != "notified" or (
            proposal.statement_due is not None and today > proposal.statement_due
        ):
            raise Forbidden("the statement period of this notice is over")
        return actor
    if owner == "proposal":
        raise Forbidden("staff attach files to the case, not to the institution's statement")
    if not actor.is_system:
        if actor.role not in (Role.OFFICER, Role.SUPERVISOR) or not can(actor, Perm.CASE_WORK):
            raise Forbidden(f"a {actor.role} does not attach evidence")
        if not in_grid(actor, subject.grid):
            raise Forbidden(f"this {owner} is in grid {subject.grid}, not one of yours")
    return actor.name


def attach_file(
    session: Session,
    owner: str,
    owner_id: int,
    filename: str,
    content: bytes,
    actor: Actor | str,
    *,
    now: dt.datetime,
) -> Attachment:
    """Keep an evidence file (证据材料) with an inspection, a case, or an institution's statement
    (``owner`` ``inspection``, ``case`` or ``proposal``). ``actor`` is a staff actor, or for a statement the
    institution as ``"institution:USCC"``. The type is taken from the content (JPEG, PNG, WebP or PDF; a
    file of any other kind is refused whatever its name says); the size is more than 0 and at most
    ``inspection.max_file_bytes`` (10 MiB, :class:`TooLarge` beyond); the SHA-256 is stored. A file kept
    with a case or a statement is noted in the case's record."""
    today = business_date(now)
    by = _uploader(session, owner, owner_id, actor, today)
    limit = get_settings().inspection_max_file_bytes
    if len(content) > limit:
        raise TooLarge(f"the file is {len(content)} bytes; at most {limit} bytes are accepted")
    problems: list[Problem] = []
    content_type = sniff(content)
    if not content:
        problems.append(Problem("file", "the file is empty"))
    elif content_type is None:
        problems.append(
            Problem("file", "not a JPEG, PNG or WebP image or a PDF document (checked by content)")
        )
    if problems:
        raise Invalid("the file cannot be kept", problems)
    assert content_type is not None
    attachment = Attachment(
        owner=owner,
        owner_id=owner_id,
        filename=_clean_filename(filename),
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=by,
        uploaded_at=now,
    )
    session.add(attachment)
    session.flush()
    meta = _attachment_out(attachment)
    subject = _owner(session, owner, owner_id)
    if owner in ("case", "proposal") and subject.case_id is not None:
        casework.record_event(
            session,
            subject.case_id,
            by,
            "attachment",
            note=meta.filename,
            data={"attachment_id": meta.id, "sha256": meta.sha256, "owner": owner},
            now=now,
        )
    audit.record(
        session,
        at=now,
        actor=by,
        action="attach",
        entity="attachment",
        key=str(meta.id),
        before=None,
        after=meta.model_dump(mode="json"),
    )
    session.flush()
    return attachment


def _attachment_out(a: Attachment | dict[str, Any]) -> AttachmentOut:
    if isinstance(a, dict):
        return AttachmentOut.model_validate(a)
    return AttachmentOut.model_validate(a, from_attributes=True)


def attachments(session: Session, owner: str, owner_id: int) -> list[AttachmentOut]:
    """The files kept with one inspection, case or statement (their records, not their content)."""
    return [_attachment_out(row) for row in queries.attachments_of(session, owner, owner_id)]


def attachment_content(session: Session, attachment_id: int, actor: Actor) -> tuple[AttachmentOut, bytes]:
    """A file's record and content, for staff to download (never served to the public or to institutions).
    Serve it with the stored type and as a download (``Content-Disposition: attachment``)."""
    if not can(actor, Perm.STAFF_READ):
        raise Forbidden("evidence files are for staff only")
    attachment = queries.attachment_by_id(session, attachment_id)
    if attachment is None:
        raise NotFound(f"no attachment {attachment_id}")
    return _attachment_out(attachment), bytes(attachment.content)


# ------------------------------------------------------------------------------------------ coverage


def _year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def coverage(session: Session, today: dt.date, *, grid: str | None = None) -> list[CoverageRow]:
    """Inspection coverage (检查覆盖率) per grid: the operating institutions, how many of them were inspected
    in the last 12 months (after the same day a year ago, up to ``today``), and the share. Grids with no
    operating institution are left out; the district's figures are the sums."""
    rows = queries.coverage(session, since=_year_before(today), until=today, grid=grid)
    return [
        CoverageRow(
            grid=r["grid"],
            operating=int(r["operating"]),
            inspected=int(r["inspected"]),
            share=int(r["inspected"]) / int(r["operating"]) if r["operating"] else 0.0,
        )
        for r in rows
    ]
