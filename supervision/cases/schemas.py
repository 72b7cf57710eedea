"""What staff send to record a decision (处理决定) and what the public sends as a complaint (举报)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from supervision.core.inputs import Clean, Day, RowId

DecisionKind = Literal[
    "warning", "rectification_order", "suspend_licence", "revoke_licence", "blacklist", "lift"
]

KIND_ZH = {
    "warning": "警告",
    "rectification_order": "责令限期整改",
    "suspend_licence": "暂扣办学许可证",
    "revoke_licence": "吊销办学许可证",
    "blacklist": "列入黑名单",
    "lift": "解除",
}
KIND_EN = {
    "warning": "Warning",
    "rectification_order": "Rectification order",
    "suspend_licence": "Licence suspended",
    "revoke_licence": "Licence revoked",
    "blacklist": "Blacklisted",
    "lift": "Lifted",
}


class DecisionIn(BaseModel):
    """A decision to record. ``decided_on`` defaults to today and ``effective_from`` to ``decided_on``.

    ``deadline`` is required for a rectification order; ``until`` (inclusive) is for a blacklisting and may be
    left out for an open-ended one; ``lifts`` names the reference of the decision a ``lift`` ends.
    """

    model_config = ConfigDict(extra="forbid")

    uscc: Annotated[str, Field(min_length=1, max_length=18), Clean]
    kind: DecisionKind
    reference: Annotated[str, Field(min_length=3, max_length=100), Clean] | None = None
    basis: list[Annotated[str, Field(max_length=64), Clean]] = Field(default_factory=list, max_length=20)
    summary: Annotated[str, Field(min_length=1, max_length=4000), Clean]
    decided_on: Day | None = None
    effective_from: Day | None = None
    deadline: Day | None = None
    until: Day | None = None
    lifts: Annotated[str, Field(max_length=100), Clean] | None = None
    officer: Annotated[str, Field(min_length=1, max_length=100), Clean] | None = None


class DecisionOut(BaseModel):
    id: int
    reference: str
    uscc: str
    institution_name: str
    kind: DecisionKind
    basis: list[str]
    summary: str
    decided_on: dt.date
    effective_from: dt.date
    deadline: dt.date | None
    until: dt.date | None
    lifts: str | None
    lifted_by: str | None
    lifted_on: dt.date | None
    officer: str
    recorded_by: str
    recorded_at: dt.datetime
    approved_by: str | None = None
    """The second person who approved it (two-person rule)."""
    case_id: int | None = None


class ComplaintForm(BaseModel):
    """The public complaint form as sent; the lengths only bound what is read (:class:`ComplaintIn` holds
    the complaint's rules)."""

    uscc: str = Field("", max_length=200)
    institution_name: str = Field("", max_length=2000)
    text: str = Field("", max_length=20000)
    contact: str = Field("", max_length=2000)
    csrf_token: str = Field("", max_length=200)


class ComplaintIn(BaseModel):
    """A complaint from the public: what happened, optionally which institution and how to reach them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: Annotated[str, Field(max_length=18), Clean] | None = None
    institution_name: Annotated[str, Field(max_length=200), Clean] | None = None
    text: Annotated[str, Field(min_length=10, max_length=3000), Clean]
    contact: Annotated[str, Field(max_length=100), Clean] | None = None


CaseSource = Literal["finding", "complaint", "inspection", "risk", "manual"]
CaseState = Literal[
    "new",
    "assigned",
    "investigating",
    "proposed",
    "notified",
    "decided",
    "rectifying",
    "verifying",
    "closed",
    "dismissed",
    "merged",
]
STATE_ZH = {
    "new": "新立案",
    "assigned": "已分派",
    "investigating": "调查中",
    "proposed": "待审核",
    "notified": "已告知",
    "decided": "已决定",
    "rectifying": "整改中",
    "verifying": "待核查",
    "closed": "已结案",
    "dismissed": "不予立案/撤销",
    "merged": "已合并",
}
Id = Annotated[str, Field(min_length=1, max_length=64), Clean]


class CaseOpenIn(BaseModel):
    """A case opened by hand (or from findings, a complaint or an inspection). Name the institution by its
    credit code, or an unregistered operator by address (then name the grid)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: CaseSource = "manual"
    uscc: Annotated[str, Field(min_length=18, max_length=18), Clean] | None = None
    operator_address: Annotated[str, Field(min_length=2, max_length=300), Clean] | None = None
    grid: Annotated[str, Field(min_length=1, max_length=50), Clean] | None = None
    basis: list[Id] = Field(default_factory=list, max_length=20)
    summary: Annotated[str, Field(min_length=1, max_length=4000), Clean]
    finding_ids: list[RowId] = Field(default_factory=list, max_length=200)


class ProposalIn(BaseModel):
    """A proposed decision (拟处理决定): what the officer asks a second person to approve."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: DecisionKind
    basis: list[Id] = Field(default_factory=list, max_length=20)
    summary: Annotated[str, Field(min_length=1, max_length=4000), Clean]
    reference: Annotated[str, Field(min_length=3, max_length=100), Clean] | None = None
    deadline: Day | None = None
    until: Day | None = None
    lifts: Annotated[str, Field(max_length=100), Clean] | None = None


class ProposalOut(BaseModel):
    id: int
    case_id: int
    uscc: str
    kind: DecisionKind
    basis: list[str]
    summary: str
    reference: str | None
    deadline: dt.date | None
    until: dt.date | None
    lifts: str | None
    status: Literal["pending", "returned", "notified", "approved"]
    proposed_by: str
    proposed_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    returned_reason: str | None
    served_on: dt.date | None
    statement_due: dt.date | None
    waived_at: dt.datetime | None
    hearing_requested: bool
    statement: str | None
    statement_at: dt.datetime | None
    answer: str | None
    decision_id: int | None


class CaseEventOut(BaseModel):
    at: dt.datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    note: str | None
    data: dict[str, object] | None


class CaseOut(BaseModel):
    id: int
    reference: str
    uscc: str | None
    institution_name: str | None
    operator_address: str | None
    grid: str
    source: CaseSource
    state: CaseState
    basis: list[str]
    summary: str
    finding_ids: list[int]
    assigned_to: str | None
    opened_by: str
    opened_at: dt.datetime
    opened_on: dt.date
    decide_by: dt.date
    overdue: bool
    decision_id: int | None
    verification: str | None
    outcome: str | None
    merged_into: str | None
    follows: str | None
    version: int
    updated_at: dt.datetime
    closed_at: dt.datetime | None


# ------------------------------------------------------------------------------------------ complaints inbox

ComplaintStatus = Literal["new", "opened", "attached", "rejected"]
COMPLAINT_STATUS_ZH = {"new": "待处理", "opened": "已立案", "attached": "已并案", "rejected": "不予受理"}


class ComplaintRow(BaseModel):
    """One complaint (举报) in the staff inbox. ``contact`` is for staff eyes only: never on a public page,
    never in the institution's portal."""

    reference: str
    received_on: dt.date
    created_at: dt.datetime
    uscc: str | None
    """The credit code the complainant gave, or the one it was matched to later."""
    institution_name: str | None
    """The name the complainant gave (or the registered name once matched)."""
    registered_name: str | None
    """The registered institution's name when the complaint is matched to one."""
    matched_by: Literal["uscc", "name"] | None
    """``uscc``: linked to a registered institution (it has a grid); ``name``: not linked, but exactly one
    registered institution has the name given (``suggested_uscc``; :func:`inbox.match` links it);
    ``None``: unmatched."""
    suggested_uscc: str | None
    grid: str | None
    text: str
    has_contact: bool
    contact: str | None
    status: ComplaintStatus
    triage_due: dt.date
    overdue: bool
    """Awaiting triage past its deadline (``case.triage_days`` working days after receipt)."""
    case_reference: str | None
    reason: str | None
    triaged_by: str | None
    triaged_at: dt.datetime | None
    can_triage: bool
    """Whether the staff user who asked may triage (or match) it: officers in their grids (any officer for an
    unmatched complaint), supervisors everywhere, administrators and auditors never."""


class TriageOpenIn(BaseModel):
    """Triage by opening a new case (立案). For a complaint not matched to a registered institution, name the
    operator's address and grid (an unlicensed operator); a matched complaint takes its institution."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["open_case"]
    basis: list[Id] = Field(default_factory=list, max_length=20)
    summary: Annotated[str, Field(min_length=1, max_length=4000), Clean]
    operator_address: Annotated[str, Field(min_length=2, max_length=300), Clean] | None = None
    grid: Annotated[str, Field(min_length=1, max_length=50), Clean] | None = None


class TriageAttachIn(BaseModel):
    """Triage by attaching the complaint to an open case of the same institution (并案)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["attach"]
    case_reference: Annotated[str, Field(min_length=1, max_length=40), Clean]


class TriageRejectIn(BaseModel):
    """Triage by rejecting, with a reason the complainant will read (不属于本局职责, 已转12315 …)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["reject"]
    reason: Annotated[str, Field(min_length=2, max_length=500), Clean]


TriageIn = Annotated[TriageOpenIn | TriageAttachIn | TriageRejectIn, Field(discriminator="action")]
"""One triage decision, told apart by ``action``."""


class MatchIn(BaseModel):
    """Link a complaint to a registered institution (by credit code)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: Annotated[str, Field(min_length=18, max_length=18), Clean]


class ComplainantView(BaseModel):
    """What the complainant sees with their reference (举报查询): where it stands and, once concluded, the
    public outcome. Never staff names, internal notes, other complaints, or the contact given."""

    reference: str
    received_on: dt.date
    institution_name: str | None
    status: Literal["received", "being_handled", "concluded"]
    status_zh: str
    status_en: str
    outcome_zh: str | None
    outcome_en: str | None


# ------------------------------------------------------------------------------------------ inspections

InspectionResult = Literal["pass", "fail", "n/a"]


class ChecklistItem(BaseModel):
    """One item of the inspection checklist (检查清单), from configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
    """Stable: answers are stored under it."""
    title_zh: Annotated[str, Field(min_length=1, max_length=200)]
    title_en: Annotated[str, Field(min_length=1, max_length=200)]
    basis: Id
    """The rule or conduct ID of the catalogue a failed item is about."""


class InspectionAnswerIn(BaseModel):
    """The answer to one checklist item; a ``fail`` needs a note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: Annotated[str, Field(min_length=1, max_length=50), Clean]
    result: InspectionResult
    note: Annotated[str, Field(max_length=2000), Clean] | None = None


class InspectionIn(BaseModel):
    """An inspection record (检查记录): the institution (``uscc``), or for an unregistered operator its
    ``address`` and ``grid``; the date; the officers present (at least two usernames, the recorder among them,
    《行政处罚法》 art. 42); an answer for every checklist item; an overall note. With ``open_case`` (the
    default), a failed item opens a case citing the failed items' rule or conduct IDs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uscc: Annotated[str, Field(min_length=18, max_length=18), Clean] | None = None
    address: Annotated[str, Field(min_length=2, max_length=300), Clean] | None = None
    grid: Annotated[str, Field(min_length=1, max_length=50), Clean] | None = None
    inspected_on: Day
    officers: list[Annotated[str, Field(min_length=1, max_length=100), Clean]] = Field(max_length=20)
    items: list[InspectionAnswerIn] = Field(max_length=100)
    note: Annotated[str, Field(max_length=4000), Clean] | None = None
    open_case: bool = True
    case_summary: Annotated[str, Field(min_length=1, max_length=4000), Clean] | None = None
    """The summary of the case opened for failed items; default: the failed items with their notes."""


class InspectionItemOut(BaseModel):
    code: str
    title: str
    basis: str | None
    result: InspectionResult
    note: str | None


class InspectionOut(BaseModel):
    id: int
    reference: str
    uscc: str | None
    institution_name: str | None
    address: str | None
    grid: str
    inspected_on: Day
    officers: list[str]
    items: list[InspectionItemOut]
    note: str | None
    case_reference: str | None
    recorded_by: str
    recorded_at: dt.datetime


AttachmentOwner = Literal["inspection", "case", "proposal"]


class AttachmentOut(BaseModel):
    """An evidence file's record (its content is fetched separately, by staff only)."""

    id: int
    owner: AttachmentOwner
    owner_id: int
    filename: str
    content_type: Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: dt.datetime


class CoverageRow(BaseModel):
    """Inspection coverage (检查覆盖率) of one grid: its operating institutions inspected in the last 12
    months."""

    grid: str
    operating: int
    inspected: int
    share: float
    """``inspected / operating`` (0 when the grid has no operating institution)."""


# ------------------------------------------------------------------------------------------ dashboard


class InstitutionCounts(BaseModel):
    """Institutions of the grid (or district) by category and by status. ``by_category`` partitions them by
    the licence scope: ``subject`` when the scope includes subject training (学科类), ``non_subject`` when it
    has only non-subject categories, ``unlicensed`` when no licence is registered."""

    total: int
    by_category: dict[Literal["subject", "non_subject", "unlicensed"], int]
    by_status: dict[Literal["operating", "suspended", "closed"], int]


class CaseCounts(BaseModel):
    """Cases by state (every state present, zero included); ``overdue``: past the decision deadline
    (``decide_by`` before today) and not yet decided or ended."""

    by_state: dict[CaseState, int]
    open: int
    overdue: int


class RectificationDue(BaseModel):
    """A case in ``rectifying`` whose order's deadline falls in the coming days."""

    reference: str
    uscc: str | None
    institution_name: str | None
    grid: str
    deadline: dt.date


class ComplaintCounts(BaseModel):
    awaiting_triage: int
    """Complaints with status ``new``."""
    past_triage_due: int
    """Of those, how many are past their triage deadline (``triage_due`` before today)."""


class InspectionCoverage(BaseModel):
    """Share of the operating institutions inspected at least once in the 12 months up to today
    (``inspected_on`` after ``since``, up to today). ``share`` is null when there are no operating
    institutions."""

    since: dt.date
    operating: int
    inspected: int
    share: float | None


class RiskTierCounts(BaseModel):
    """Institutions in the red and yellow risk tiers (风险等级, rules.md "Risk tier")."""

    red: int
    yellow: int


class MonthCount(BaseModel):
    """Subject-training institutions operating at the end of ``month`` (``as_of``: the month's last day, or
    today for the current month); ``count`` is null for a month before the registry's first record."""

    month: str
    as_of: dt.date
    count: int | None


class Dashboard(BaseModel):
    """The console's dashboard (工作台) for one grid (``grid``) or the whole district (``grid`` null)."""

    as_of: dt.date
    grid: str | None
    institutions: InstitutionCounts
    open_findings: dict[Literal["critical", "major", "minor", "notice"], int]
    cases: CaseCounts
    rectifications_due: list[RectificationDue]
    """The first ``DUE_LIST_LIMIT`` by deadline; ``rectifications_due_total`` counts them all."""
    rectifications_due_total: int
    rectifications_due_until: dt.date
    complaints: ComplaintCounts
    inspection_coverage: InspectionCoverage
    risk_tiers: RiskTierCounts
    subject_trend: list[MonthCount]
    """Oldest month first, 24 months ending with the current one."""


# ------------------------------------------------------------------------------------------ case actions


class _Act(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    """The version of the case the person saw: a case changed since is refused (409)."""


Reason = Annotated[str, Field(min_length=1, max_length=4000)]


class AssignAct(_Act):
    action: Literal["assign"]
    officer: Annotated[str, Field(min_length=1, max_length=100)]


class StartAct(_Act):
    action: Literal["start"]


class NoteAct(_Act):
    action: Literal["note"]
    note: Reason


class ProposeAct(_Act):
    action: Literal["propose"]
    proposal: ProposalIn


class ApproveAct(_Act):
    action: Literal["approve"]


class ReturnAct(_Act):
    action: Literal["return"]
    reason: Reason


class AnswerAct(_Act):
    action: Literal["answer"]
    answer: Reason


class DecideAct(_Act):
    action: Literal["decide"]


class ReconsiderAct(_Act):
    action: Literal["reconsider"]
    reason: Reason


class CloseAct(_Act):
    action: Literal["close"]
    outcome: Literal["rectified", "not_rectified"] | None = None
    note: Annotated[str, Field(max_length=4000)] | None = None


class DismissAct(_Act):
    action: Literal["dismiss"]
    reason: Reason


class MergeAct(_Act):
    action: Literal["merge"]
    into: Annotated[str, Field(min_length=1, max_length=40)]
    reason: Reason


CaseAction = Annotated[
    AssignAct
    | StartAct
    | NoteAct
    | ProposeAct
    | ApproveAct
    | ReturnAct
    | AnswerAct
    | DecideAct
    | ReconsiderAct
    | CloseAct
    | DismissAct
    | MergeAct,
    Field(discriminator="action"),
]
"""One step of case work, named by ``action``; every step carries the case ``version`` the person saw."""


class CaseDetail(BaseModel):
    """A case with its whole record: events, proposals (with notices, statements and answers) and the
    names of its attachments."""

    case: CaseOut
    events: list[CaseEventOut]
    proposals: list[ProposalOut]
    attachments: list[AttachmentOut]
    actions: list[str]
    """The moves the case's state allows (whether this person may make them is checked when asked)."""


class DecisionProposed(BaseModel):
    """What proposing a decision gives back: the proposal (awaiting a second person's approval) and the case
    it is worked in."""

    proposal: ProposalOut
    case: CaseOut


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    """The version of the proposal's case the approver saw (default: the current one)."""


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, Field(min_length=1, max_length=4000)]
    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
