"""The risk tier (风险等级) of an institution's prepaid money: red, yellow or green, and why.

A pure function of the open findings (rule ID, subject) and, in the service, the number of complaints about
the institution received in the last 30 days (rules.md, "Risk tier"):

- ``red`` when any of FEE-NO-ESCROW, FEE-ESCROW-SHORTFALL, FEE-BALANCE-BREAK, RISK-RELEASE-AHEAD is open, or
  FEE-STATEMENT-MISSING is open for two or more periods;
- else ``yellow`` when any of RISK-COVERAGE-THIN, RISK-RECEIPTS-SURGE, RISK-LARGE-RELEASE, LIC-EXPIRING,
  FEE-STATEMENT-MISSING is open, or ``complaints_30d >= complaint_threshold`` (pseudo-ID
  ``COMPLAINTS-30D``);
- else ``green``.

``because`` lists, sorted, the rule IDs that set the tier. Adding a finding never lowers the tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Tier = Literal["red", "yellow", "green"]
TIERS: tuple[Tier, ...] = ("green", "yellow", "red")
"""The tiers from lowest to highest."""

RED_RULES = frozenset({"FEE-NO-ESCROW", "FEE-ESCROW-SHORTFALL", "FEE-BALANCE-BREAK", "RISK-RELEASE-AHEAD"})
YELLOW_RULES = frozenset(
    {
        "RISK-COVERAGE-THIN",
        "RISK-RECEIPTS-SURGE",
        "RISK-LARGE-RELEASE",
        "LIC-EXPIRING",
        "FEE-STATEMENT-MISSING",
    }
)
STATEMENT_MISSING = "FEE-STATEMENT-MISSING"
RED_MISSING_PERIODS = 2
"""FEE-STATEMENT-MISSING open for this many periods or more makes the tier red."""
COMPLAINTS = "COMPLAINTS-30D"
"""The pseudo rule ID naming the complaints count in ``because``."""


@dataclass(frozen=True)
class Risk:
    """An institution's risk tier and the sorted rule IDs (or ``COMPLAINTS-30D``) that set it."""

    tier: Tier
    because: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "because": list(self.because)}


GREEN = Risk("green")


def risk_tier(
    open_findings: Iterable[tuple[str, str]],
    *,
    complaints_30d: int = 0,
    complaint_threshold: int | None = None,
) -> Risk:
    """The tier of an institution with these open findings, each a ``(rule_id, subject)`` pair.

    ``complaints_30d`` is the number of complaints received about it in the last 30 days and
    ``complaint_threshold`` the ``risk.complaints_30d`` parameter in force (None: complaints are not
    considered, as in the self-check). Findings of rules that do not bear on the tier are ignored.
    """
    red: set[str] = set()
    yellow: set[str] = set()
    missing: set[str] = set()
    for rule_id, subject in open_findings:
        if rule_id in RED_RULES:
            red.add(rule_id)
        elif rule_id in YELLOW_RULES:
            yellow.add(rule_id)
            if rule_id == STATEMENT_MISSING:
                missing.add(subject)
    if len(missing) >= RED_MISSING_PERIODS:
        red.add(STATEMENT_MISSING)
    if red:
        return Risk("red", tuple(sorted(red)))
    if complaint_threshold is not None and complaints_30d >= complaint_threshold:
        yellow.add(COMPLAINTS)
    if yellow:
        return Risk("yellow", tuple(sorted(yellow)))
    return GREEN


__all__ = ["COMPLAINTS", "GREEN", "RED_RULES", "TIERS", "YELLOW_RULES", "Risk", "Tier", "risk_tier"]
