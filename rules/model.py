"""The engine's vocabulary: a rule's metadata (规则), a finding (违规发现) and an evaluation (评估结果).

Everything here is plain data. A finding's ``to_dict()`` is JSON-able and its key order is fixed, so the
same facts always serialise to the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from rules.risk import Risk

Severity = Literal["critical", "major", "minor", "notice"]
SEVERITIES: tuple[Severity, ...] = ("critical", "major", "minor", "notice")

STAGES = ("preschool", "primary", "junior", "senior")
COMPULSORY = frozenset({"primary", "junior"})
SCHOOL_STAGES = frozenset({"primary", "junior", "senior"})
MODES = ("offline", "online")


@dataclass(frozen=True)
class Rule:
    """One entry of the rule catalogue, the public negative list (负面清单).

    ``effective_from`` is the fixed date the rule starts to apply; a rule whose start comes from a parameter
    (the ban of 2021-07-24, the non-profit deadline) names it in ``effective_from_parameter`` instead, with
    ``effective_offset_days`` added (NPO-SUBJECT applies from the day after the deadline).
    ``optional_parameters`` are used when in force; every other parameter must be in force for the rule
    to run.
    """

    id: str
    version: int
    severity: Severity
    area: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    legal_basis: str
    parameters: tuple[str, ...] = ()
    optional_parameters: tuple[str, ...] = ()
    effective_from: dt.date | None = None
    effective_from_parameter: str | None = None
    effective_offset_days: int = 0
    automatic: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "severity": self.severity,
            "area": self.area,
            "automatic": self.automatic,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
            "legal_basis": self.legal_basis,
            "parameters": list(self.parameters),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_from_parameter": self.effective_from_parameter,
            "effective_offset_days": self.effective_offset_days,
        }


@dataclass(frozen=True)
class Finding:
    """A finding (违规发现): one rule broken by one subject on the evaluation date.

    ``subject`` is ``"institution"`` or the code of what the finding is about: a course ``"C1"``, a package
    ``"C1/K1"``, a teacher in a course ``"C1/T1"``, a teacher ``"T1"``, premises ``"P1"``, a statement period
    ``"2026-10"`` or a statement line ``"2026-10/R-0001"``.
    ``trace`` holds ``facts`` (field path → value), ``parameters`` (each with name, value, effective_from,
    level, citation) and ``comparison`` (the test made, in words).
    """

    rule_id: str
    rule_version: int
    severity: Severity
    subject: str
    message_zh: str
    message_en: str
    legal_basis: str
    trace: dict[str, Any] = field(hash=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "severity": self.severity,
            "subject": self.subject,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "legal_basis": self.legal_basis,
            "trace": self.trace,
        }


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating one institution on one date (评估结果).

    ``findings`` are sorted by rule ID, then subject. ``uncovered_dates`` are the distinct dates of dated
    sessions that the rest-day rule needed calendar data for and found none (the rule reported nothing for
    them; a course term is never counted day by day). ``risk`` is the risk tier the findings set (without
    complaints, which only the service counts: see :func:`rules.risk.risk_tier`).
    """

    findings: list[Finding]
    uncovered_dates: frozenset[dt.date]
    risk: Risk

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "uncovered_dates": sorted(d.isoformat() for d in self.uncovered_dates),
            "risk": self.risk.to_dict(),
        }
