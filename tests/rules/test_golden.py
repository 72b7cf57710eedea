"""Every golden case in rules/golden/ produces exactly the findings it names."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from rules import Engine
from rules.catalogue import all_rules
from rules.golden_cases import GoldenCase, compare, load_cases, produced

CASES = load_cases()
RULE_IDS = {r.id for r in all_rules()}


@functools.cache
def _engine(jurisdiction: str, overlay_json: str) -> Engine:
    overlay: dict[str, Any] | None = json.loads(overlay_json)
    return Engine.load(jurisdiction, overlays=[overlay] if overlay else [])


def engine_for(case: GoldenCase) -> Engine:
    return _engine(case.jurisdiction, json.dumps(case.overlay, default=str, sort_keys=True))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_case(case: GoldenCase) -> None:
    unknown = set(case.expect) - RULE_IDS
    assert not unknown, f"case names unknown rules {sorted(unknown)}"
    result = engine_for(case).at(case.as_of).evaluate(case.doc, case.statements)
    diffs = compare(case, produced(result.findings))
    assert not diffs, "\n".join(diffs)
    if case.uncovered is not None or case.exact:
        assert result.uncovered_dates == (case.uncovered or frozenset())
    if case.risk is not None:
        assert result.risk.to_dict() == case.risk


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_every_automatic_rule_has_cases_on_both_sides() -> None:
    """Each automatic rule is expected to fire in some case and expected silent in another."""
    fires: set[str] = set()
    silent: set[str] = set()
    for case in CASES:
        for rule_id, subjects in case.expect.items():
            (fires if subjects else silent).add(rule_id)
    automatic = {r.id for r in all_rules() if r.automatic}
    assert automatic - fires == set()
    assert automatic - silent == set()
