"""The stored risk tier (风险等级) of institutions: red, yellow or green, from their open findings and the
complaints received about them (rules.md "Risk tier"; the rule engine's :func:`rules.risk_tier` decides).

Every evaluation refreshes it: a full run for every institution (its workers compute the tiers beside the
findings, :func:`supervision.compliance.evaluation.stage_range`), a re-evaluation for one. A tier is stored
with the rule IDs that set it and the instant it changed; the console shows it beside the institution,
filters and counts by it, and a tier turning red opens a case (``cases.casework.open_risk_cases``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlmodel import Session

from rules.risk import RED_RULES, YELLOW_RULES
from supervision.compliance import queries
from supervision.core import rulebook

COMPLAINT_DAYS = 30
"""Complaints count toward the tier for 30 days, the day of evaluation included."""


def window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The complaints that count on ``as_of``: those received in the 30 days ending on it."""
    return as_of - dt.timedelta(days=COMPLAINT_DAYS - 1), as_of


def complaints_since(session: Session, as_of: dt.date) -> dict[str, int]:
    """The complaints received in the tier's window ending on ``as_of``, by credit code (a full run hands
    them to its workers, which compute the tiers with the findings)."""
    return queries.complaint_counts(session, window(as_of))


def refresh(
    session: Session, as_of: dt.date, *, now: dt.datetime, jurisdiction: str, ids: Sequence[int]
) -> Counter[str]:
    """Compute the tier of the institutions ``ids`` as of ``as_of`` from their open findings as they stand in
    this transaction and their recent complaints (a re-evaluation), store the ones that changed, and return
    how many institutions are in each tier now. A full run computes its tiers in its workers instead."""
    ctx = rulebook.context(jurisdiction, as_of)
    tiers: Counter[str] = Counter()
    changes: list[tuple[int, str, str]] = []
    rules = sorted(RED_RULES | YELLOW_RULES)
    for iid, tier, because, pairs, complaints in queries.risk_inputs(session, rules, window(as_of), ids):
        risk = ctx.risk(pairs, complaints_30d=complaints)
        tiers[risk.tier] += 1
        if risk.tier != tier or list(risk.because) != because:
            changes.append((iid, risk.tier, ",".join(risk.because)))
    queries.store_tiers(session, changes, now)
    return tiers
