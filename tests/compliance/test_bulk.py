"""Full runs as the nightly job does them: committed data, a pool of worker processes, the command line,
and a re-evaluation racing a full run. These use a scratch database of their own, so that committed runs
do not touch the data of other tests."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from supervision.compliance import evaluation, facts, queries, registry_changes, runs
from supervision.compliance import service as compliance
from supervision.core.clock import FixedClock
from supervision.core.errors import Conflict
from supervision.db import make_engine, migrate
from supervision.demo import registry as demo
from supervision.escrow import keys
from supervision.escrow import service as escrow
from supervision.escrow.validation import parse_json
from supervision.registry import queries as registry_queries
from supervision.registry import service as registry
from supervision.settings import ROOT
from tests.compliance.helpers import AS_OF, expired
from tests.conftest import example_document

NOW = FixedClock.on(AS_OF).now()
DEMO = 400


@pytest.fixture(scope="module")
def scratch(database_url: str) -> Iterator[tuple[str, Engine]]:
    url = make_url(database_url)
    name = f"{url.database}_compliance"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    scratch_url = url.set(database=name).render_as_string(hide_password=False)
    migrate(scratch_url)
    engine = make_engine(scratch_url)
    docs = [registry.validate(d) for d in demo.generate(DEMO, 7)]
    with Session(engine) as s:
        registry.save_documents(s, docs, actor="test", now=NOW)
        s.commit()
    yield scratch_url, engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _open(engine: Engine) -> set[tuple[int, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT institution_id, rule_id, subject, digest FROM finding WHERE status = 'open'")
        )
        return {tuple(r) for r in rows}


def test_range_facts_equal_the_one_institution_facts(scratch: tuple[str, Engine]) -> None:
    """What a full run reads per range (documents and statements in force) is what the re-evaluation of one
    institution reads: the registry's documents and ``statements_for``."""
    _, engine = scratch
    with Session(engine) as s:
        extra = [example_document(licence=None, escrow=None), example_document(courses=[], teachers=[])]
        extra.append(example_document(escrow={"mode": None, "bank": None, "account_last4": None}))
        saved = registry.save_documents(s, [registry.validate(d) for d in extra], actor="test", now=NOW)
        with_statements = saved.ids[extra[1]["uscc"]]
        key, _ = keys.issue(s, uscc=extra[1]["uscc"], now=NOW, actor="test")
        holder = keys.holder_for_key(s, key, NOW)
        for period in ("2026-09", "2026-10"):
            parsed = parse_json(orjson.dumps(_statement(period)), AS_OF)
            answer = escrow.submit(
                s,
                holder=holder,
                parsed=parsed,
                idempotency_key=period,
                now=NOW,
                as_of=AS_OF,
                jurisdiction="440106",
            )
            assert answer.status in (200, 201), answer.body
        ids = queries.institution_ids(s)
        expected = registry_queries.documents_by_id(s, ids)
        expected_statements = queries.statements_for(s, ids)
        raw = s.connection().connection.driver_connection
        assert raw is not None
        got, got_statements = {}, {}
        for lo, hi, _ in evaluation.ranges(ids, 97):
            for iid, doc, statements in facts.read_range(raw, lo, hi):
                got[iid] = doc
                got_statements[iid] = statements
        s.rollback()
    assert len(got) == len(ids) == DEMO + 3
    assert got == expected
    assert got_statements == expected_statements
    assert [st["period"] for st in got_statements[with_statements]] == ["2026-09", "2026-10"]


def _statement(period: str) -> dict[str, Any]:
    return {
        "period": period,
        "mode": "risk_reserve",
        "opening_balance_fen": 0,
        "receipts_fen": 90_000,
        "released_fen": 0,
        "refunds_fen": 0,
        "closing_balance_fen": 90_000,
        "bank_reported_balance_fen": None,
        "reserve_balance_fen": 90_000,
        "unearned_liability_fen": 90_000,
        "amends": None,
        "lines": [{"date": f"{period}-05", "type": "receipt", "amount_fen": 90_000, "ref": f"R-{period}"}],
    }


def test_pool_and_in_process_runs_agree(scratch: tuple[str, Engine]) -> None:
    _, engine = scratch
    with Session(engine, expire_on_commit=False) as s:
        here = runs.run_full(s, AS_OF, "test", now=NOW, workers=0, batch_size=50)
        in_process = _open_in(s)
        s.rollback()
    with Session(engine, expire_on_commit=False) as s:
        pooled = runs.run_full(s, AS_OF, "test", now=NOW, workers=2, batch_size=50)
        s.commit()
    assert pooled.counts["workers"] == 2 and here.counts["workers"] == 0
    assert pooled.counts["by_rule"] == here.counts["by_rule"]
    assert pooled.institutions == here.institutions == DEMO
    assert _open(engine) == in_process
    assert len(in_process) > DEMO // 10  # the demo registry carries every kind of problem


def _open_in(s: Session) -> set[tuple[int, str, str, str]]:
    rows = s.execute(
        text("SELECT institution_id, rule_id, subject, digest FROM finding WHERE status = 'open'")
    )
    return {tuple(r) for r in rows}


def test_a_reevaluation_during_a_full_run_is_not_overwritten(scratch: tuple[str, Engine]) -> None:
    """An institution fixed and re-evaluated while a full run is going keeps its fresher result: the run
    read the old document, but it leaves that institution alone when it writes."""
    _, engine = scratch
    doc = expired()
    with Session(engine) as s:
        iid = registry.save_documents(s, [registry.validate(doc)], actor="test", now=NOW).ids[doc["uscc"]]
        compliance.reevaluate_institution(s, iid, AS_OF, "test", now=NOW)
        s.commit()
    assert ("LIC-EXPIRED", "open") in _statuses(engine, iid)

    fixed = False

    def meanwhile(n: int) -> None:
        nonlocal fixed
        if fixed:
            return
        fixed = True  # after the first range: the run has read (and evaluated) every document already
        doc["licence"]["valid_until"] = "2028-12-31"
        with Session(engine) as other:
            registry.save_documents(other, [registry.validate(doc)], actor="test", now=NOW)
            compliance.reevaluate_institution(other, iid, AS_OF, "test:officer", now=NOW)
            other.commit()

    with Session(engine, expire_on_commit=False) as s:
        run = runs.run_full(s, AS_OF, "test", now=NOW, workers=0, batch_size=10_000, progress=meanwhile)
        s.commit()
    assert fixed
    with engine.connect() as conn:
        registered = conn.execute(text("SELECT count(*) FROM institution")).scalar_one()
    assert run.institutions == registered - 1  # every institution but the one re-evaluated meanwhile
    assert ("LIC-EXPIRED", "resolved") in _statuses(engine, iid)
    assert ("LIC-EXPIRED", "open") not in _statuses(engine, iid)


def _stored(conn: Any) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(the open findings by identity and digest, the stored tiers)."""
    findings = conn.execute(
        text("SELECT institution_id, rule_id, subject, digest FROM finding WHERE status = 'open'")
    )
    tiers = conn.execute(text("SELECT institution_id, tier, because FROM institution_risk"))
    return {tuple(r) for r in findings}, {(r[0], r[1], tuple(r[2])) for r in tiers}


def test_ranges_with_nothing_stored_and_compared_ones_write_what_a_first_run_would(
    scratch: tuple[str, Engine],
) -> None:
    """A range whose institutions have no open finding and no tier is appended as it comes; the others are
    compared, the workers leaving out what is stored unchanged. Institutions registered since the last run
    (ranges of new ones) beside known ones end where a first run into empty tables ends."""
    _, engine = scratch
    with Session(engine) as s:
        runs.run_full(s, AS_OF, "test", now=NOW, workers=0, batch_size=50)
        s.commit()
        new = [registry.validate(d) for d in demo.generate(120, 99)]
        registry.save_documents(s, new, actor="test", now=NOW)
        s.commit()
    day2 = AS_OF + dt.timedelta(days=1)
    with Session(engine, expire_on_commit=False) as s:
        mixed = runs.run_full(s, day2, "test", now=NOW, workers=2, batch_size=50)
        got = _stored(s)
        newest = "SELECT id FROM institution ORDER BY id DESC LIMIT 120"
        first_runs = (
            s.execute(text(f"SELECT DISTINCT first_run_id FROM finding WHERE institution_id IN ({newest})"))
            .scalars()
            .all()
        )
        s.commit()
    with Session(engine, expire_on_commit=False) as s:
        s.execute(text("DELETE FROM finding"))
        s.execute(text("DELETE FROM institution_risk"))
        first = runs.run_full(s, day2, "test", now=NOW, workers=0, batch_size=50)
        expected = _stored(s)
        s.rollback()
    assert got == expected and len(got[0]) > 120 and got[1]
    assert first_runs == [mixed.id]  # the new institutions' findings were opened by the mixed run
    totals = mixed.counts["totals"]
    assert totals["unchanged"] > 0 and totals["opened"] > 0 and totals["refreshed"] > 0
    assert {r: c["produced"] for r, c in mixed.counts["by_rule"].items()} == {
        r: c["produced"] for r, c in first.counts["by_rule"].items()
    }
    assert first.counts["totals"]["opened"] == first.counts["totals"]["produced"]
    assert mixed.counts["risk_tiers"] == first.counts["risk_tiers"]


def test_deleting_an_institution_deletes_its_findings_and_tier_and_waits_for_its_reevaluation(
    scratch: tuple[str, Engine],
) -> None:
    """Findings and tiers have no foreign key (migration 0014): a trigger deletes them with the institution,
    and a deletion waits for a re-evaluation of the institution in flight, so nothing is left behind."""
    _, engine = scratch
    doc = expired(escrow={"mode": None, "bank": None, "account_last4": None})
    with Session(engine) as s:
        iid = registry.save_documents(s, [registry.validate(doc)], actor="test", now=NOW).ids[doc["uscc"]]
        s.commit()
    evaluating = Session(engine)
    compliance.reevaluate_institution(evaluating, iid, AS_OF, "test", now=NOW)  # not committed yet
    deleted = threading.Event()

    def delete() -> None:
        with Session(engine) as other:
            registry_changes.delete_institution(other, doc["uscc"], actor="test", now=NOW)
            other.commit()
        deleted.set()

    deleter = threading.Thread(target=delete)
    deleter.start()
    assert not deleted.wait(0.5)  # held by the re-evaluation's lock on the institution
    evaluating.commit()
    evaluating.close()
    deleter.join(30)
    assert deleted.is_set()
    with engine.connect() as conn:
        for table in ("finding", "institution_risk"):
            left = conn.execute(text(f"SELECT count(*) FROM {table} WHERE institution_id = :i"), {"i": iid})
            assert left.scalar_one() == 0, table
    with Session(engine) as s:  # and the trigger alone, for a deletion by hand
        again = registry.save_documents(s, [registry.validate(doc)], actor="test", now=NOW).ids[doc["uscc"]]
        compliance.reevaluate_institution(s, again, AS_OF, "test", now=NOW)
        found = s.execute(text("SELECT count(*) FROM finding WHERE institution_id = :i"), {"i": again})
        assert found.scalar_one() > 0
        s.execute(text("DELETE FROM institution WHERE id = :i"), {"i": again})
        remaining = s.execute(
            text(
                "SELECT (SELECT count(*) FROM finding WHERE institution_id = :i)"
                " + (SELECT count(*) FROM institution_risk WHERE institution_id = :i)"
            ),
            {"i": again},
        ).scalar_one()
        assert remaining == 0
        s.rollback()


def test_one_full_run_at_a_time(scratch: tuple[str, Engine]) -> None:
    _, engine = scratch
    with Session(engine) as first, Session(engine) as second:
        runs.run_full(first, AS_OF, "test", now=NOW, workers=0)
        with pytest.raises(Conflict) as caught:
            runs.run_full(second, AS_OF, "test", now=NOW, workers=0)
        assert caught.value.code == "run_in_progress"
        first.rollback()
        second.rollback()
        runs.run_full(second, AS_OF, "test", now=NOW, workers=0)  # the first one is over
        second.rollback()


def _statuses(engine: Engine, iid: int) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT rule_id, status FROM finding WHERE institution_id = :i"), {"i": iid})
        return {(r.rule_id, r.status) for r in rows}


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": url, "SUPERVISION_TODAY": AS_OF.isoformat()}
    return subprocess.run(
        [sys.executable, "-m", "supervision.cli", "rules", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_run_and_dry_run(scratch: tuple[str, Engine], tmp_path: Path) -> None:
    url, engine = scratch
    with engine.connect() as conn:
        runs_before = conn.execute(text("SELECT count(*) FROM rule_run")).scalar_one()
    done = _cli(url, "run", "--as-of", "2026-12-01", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "institutions" in done.stderr and "findings" in done.stderr
    with engine.connect() as conn:
        last = conn.execute(text("SELECT * FROM rule_run ORDER BY id DESC LIMIT 1")).one()
        assert conn.execute(text("SELECT count(*) FROM rule_run")).scalar_one() == runs_before + 1
    assert last.scope == "full" and last.as_of == dt.date(2026, 12, 1) and last.actor == "cli:rules-run"

    candidate = tmp_path / "late.yaml"
    candidate.write_text(
        'level: "440106"\nparameters:\n  time.offline_latest_end:\n'
        '    - {value: "19:00", effective_from: 2026-01-01, citation: 天河区候选规则（试算）}\n',
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    before = _open(engine)
    args = ("--parameters", str(candidate), "--as-of", "2026-12-01", "--json", str(report), "--workers", "2")
    done = _cli(url, "dry-run", *args)
    assert done.returncode == 0, done.stderr
    data = orjson.loads(report.read_bytes())
    late = next(r for r in data["rules"] if r["rule_id"] == "TIME-OFFLINE-LATE")
    assert late["newly_fail"] > 0 and late["candidate"] == late["current"] + late["newly_fail"]
    assert late["fail_examples"] and "19:00" in late["fail_examples"][0]["message_zh"]
    assert [c["name"] for c in data["parameter_changes"]] == ["time.offline_latest_end"]
    assert _open(engine) == before  # a dry run stores nothing

    bad = tmp_path / "bad.yaml"
    bad.write_text('level: "440106"\nparameters:\n  time.offline_latest_ends: []\n', encoding="utf-8")
    done = _cli(url, "dry-run", "--parameters", str(bad))
    assert done.returncode == 2 and "time.offline_latest_ends" in done.stderr
