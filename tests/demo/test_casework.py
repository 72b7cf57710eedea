"""The demo case work: the demo staff accounts, cases in every state, complaints awaiting triage and
inspections with evidence, loaded once through the services the console uses."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.accounts import service as accounts
from supervision.cases.models import CASE_STATES
from supervision.core.clock import FixedClock
from supervision.demo.casework import PASSWORD, STAFF, load_demo_casework
from supervision.demo.registry import generate
from supervision.registry import service as registry
from tests.conftest import TODAY


def test_the_demo_has_every_case_state_triage_work_inspections_and_its_staff(fresh_engine: Engine) -> None:
    now = FixedClock.on(TODAY).now()
    with Session(fresh_engine) as session:
        docs = [d for d in generate(400, 7) if d["grid"] in ("石牌", "天河南")]
        registry.save_documents(session, [registry.validate(d) for d in docs], actor="test", now=now)
        session.commit()
    opened = load_demo_casework(fresh_engine, now, "440106")
    assert opened >= len(CASE_STATES) - 1
    assert load_demo_casework(fresh_engine, now, "440106") == 0, "loaded twice"
    with fresh_engine.connect() as conn:
        states = set(conn.execute(text("SELECT DISTINCT state FROM enforcement_case")).scalars())
        awaiting = conn.execute(text("SELECT count(*) FROM complaint WHERE status = 'new'")).scalar_one()
        late = conn.execute(
            text("SELECT count(*) FROM complaint WHERE status = 'new' AND triage_due < :d"), {"d": TODAY}
        ).scalar_one()
        inspections = conn.execute(text("SELECT count(*) FROM inspection")).scalar_one()
        evidence = conn.execute(
            text("SELECT count(*) FROM attachment WHERE owner = 'inspection'")
        ).scalar_one()
        due_this_week = conn.execute(
            text(
                "SELECT count(*) FROM enforcement_case c JOIN decision d ON d.id = c.decision_id"
                " WHERE c.state = 'rectifying' AND d.deadline BETWEEN :d AND :d + 7"
            ),
            {"d": TODAY},
        ).scalar_one()
        overdue = conn.execute(
            text("SELECT count(*) FROM enforcement_case WHERE state = 'investigating' AND decide_by < :d"),
            {"d": TODAY},
        ).scalar_one()
    assert states == set(CASE_STATES)
    assert awaiting >= 3 and late >= 1 and inspections == 2 and evidence == 2
    assert due_this_week == 1 and overdue == 1
    with Session(fresh_engine) as session:
        for username, role, _, grids in STAFF:
            user = accounts.find_user(session, username)
            assert user is not None and user.role == role and list(user.grids) == list(grids)
            outcome = accounts.login(session, username=username, password=PASSWORD, now=now, hours=1)
            assert outcome.token
