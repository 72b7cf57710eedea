"""What the compliance API answers (the shapes published in the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["critical", "major", "minor", "notice"]
Status = Literal["open", "resolved"]


class Trace(BaseModel):
    """How a finding was reached: every fact read, every parameter used (with its effective date, level and
    citation) and the comparison made."""

    facts: dict[str, Any]
    parameters: list[dict[str, Any]]
    comparison: str


class EvaluatedFinding(BaseModel):
    """A finding of the self-check (not stored)."""

    rule_id: str
    rule_version: int
    severity: Severity
    subject: str = Field(description='"institution" or the code of a course, package, teacher, premises …')
    message_zh: str
    message_en: str
    legal_basis: str
    trace: Trace


class RiskOut(BaseModel):
    """The risk tier (风险等级) the findings set (rules.md "Risk tier"; complaints are not counted here)."""

    tier: Literal["red", "yellow", "green"]
    because: list[str] = Field(description="the rule IDs that set the tier, sorted")


class Evaluation(BaseModel):
    """The answer of ``POST /api/v1/rules/evaluate``."""

    as_of: dt.date
    jurisdiction: str
    engine_version: str
    parameter_hash: str
    findings: list[EvaluatedFinding]
    uncovered_dates: list[dt.date] = Field(
        description="dates the rest-day rule needed calendar data for and found none"
    )
    risk: RiskOut


class Catalogue(BaseModel):
    """The rule catalogue as of a date (``GET /api/v1/rules``)."""

    as_of: dt.date
    jurisdiction: str
    jurisdiction_name_zh: str
    engine_version: str
    parameter_hash: str
    rules: list[dict[str, Any]] = Field(
        description="id, version, severity, area, titles, descriptions with the values in force, "
        "legal basis, whether it applies, and each parameter in force "
        "(name, value, effective_from, level, citation)"
    )


class FindingOut(BaseModel):
    """A stored finding (发现问题)."""

    id: int
    uscc: str
    institution_name: str
    grid: str
    rule_id: str
    rule_version: int
    severity: Severity
    subject: str
    message_zh: str
    message_en: str
    legal_basis: str
    status: Status
    first_seen_on: dt.date
    first_run_id: int
    updated_run_id: int
    resolved_on: dt.date | None
    resolved_run_id: int | None


class HistoryItem(BaseModel):
    id: int
    status: Status
    first_seen_on: dt.date
    resolved_on: dt.date | None
    first_run_id: int
    resolved_run_id: int | None


class FindingDetail(FindingOut):
    trace: Trace
    history: list[HistoryItem] = Field(description="earlier findings of the same rule and subject")


class RuleRunOut(BaseModel):
    """A rule run (规则运行)."""

    id: int
    scope: Literal["full", "institution"]
    uscc: str | None = Field(description="the institution of an institution run")
    as_of: dt.date
    jurisdiction: str
    parameter_hash: str
    engine_version: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    duration_ms: int | None
    institutions: int
    counts: dict[str, Any] = Field(
        description="by_rule: produced, opened, refreshed, resolved per rule ID; totals; workers; timings_ms"
    )
    uncovered_dates: list[str]
    actor: str
