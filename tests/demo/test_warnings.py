"""The demo early warnings: every new rule of the policy issue fires on the demo data after a full run, the
tiers are stored, and a red tier opens one risk case."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.cases import casework
from supervision.compliance import runs
from supervision.core.clock import FixedClock
from supervision.demo.registry import generate
from supervision.demo.warnings import load_demo_warnings
from supervision.registry import service as registry
from tests.conftest import TODAY

NEW_RULES = {
    "BAN-PRESCHOOL-SUBJECT",
    "BAN-SCOPE-EXTENDED",
    "LIC-EXPIRING",
    "RISK-RECEIPTS-SURGE",
    "RISK-RELEASE-AHEAD",
    "RISK-LARGE-RELEASE",
    "RISK-COVERAGE-THIN",
    "FEE-STATEMENT-MISSING",
}


def test_the_demo_shows_every_new_rule_and_a_risk_case(fresh_engine: Engine) -> None:
    now = FixedClock.on(TODAY).now()
    with Session(fresh_engine) as session:
        docs = [d for d in generate(600, 11) if d["grid"] in ("石牌", "天河南")]
        registry.save_documents(session, [registry.validate(d) for d in docs], actor="test", now=now)
        session.commit()
    assert load_demo_warnings(fresh_engine, now, "440106") == 9
    assert load_demo_warnings(fresh_engine, now, "440106") == 0, "loaded twice"
    with Session(fresh_engine) as session:
        tiers = runs.run_full(session, TODAY, "test", now=now, workers=0).counts["risk_tiers"]
        session.commit()
    assert tiers["red"] >= 2 and tiers["yellow"] >= 4
    with fresh_engine.connect() as conn:
        fired: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT rule_id, count(DISTINCT institution_id) FROM finding"
                    " WHERE status = 'open' AND rule_id = ANY(:r) GROUP BY rule_id"
                ),
                {"r": sorted(NEW_RULES)},
            ).all()
        )
        silent = conn.execute(
            text(
                "SELECT r.tier, r.because, count(*) FROM finding f"
                " JOIN institution i ON i.id = f.institution_id"
                " JOIN institution_risk r ON r.institution_id = i.id"
                " WHERE f.rule_id = 'FEE-STATEMENT-MISSING' AND f.status = 'open'"
                " AND i.escrow_since IS NOT NULL GROUP BY 1, 2"
            )
        ).all()
    assert set(fired) == NEW_RULES, fired
    assert [(t, b, n) for t, b, n in silent] == [("red", ["FEE-STATEMENT-MISSING"], 5)]
    with Session(fresh_engine) as session:
        opened = casework.open_risk_cases(session, now=now, jurisdiction="440106")
        session.commit()
        assert opened and casework.open_risk_cases(session, now=now, jurisdiction="440106") == []
