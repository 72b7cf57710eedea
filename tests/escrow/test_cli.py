"""``supervision keys issue|list|revoke`` and ``supervision escrow verify``, run as the command people run."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from sqlalchemy import Engine, text

from supervision.settings import ROOT
from tests.conftest import LiveServer
from tests.escrow.helpers import idem, institution_with_key, statement


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": database_url, "SUPERVISION_TODAY": "2026-11-30"}
    return subprocess.run(
        [sys.executable, "-m", "supervision.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_issue_list_revoke(database_url: str, engine: Engine, live: LiveServer) -> None:
    doc, _ = institution_with_key(engine)
    issued = run(database_url, "keys", "issue", doc["uscc"], "--days", "30", "--label", "财务室")
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()
    assert key.startswith("sk_") and "shown only now" in issued.stderr
    with httpx.Client(base_url=live.url, headers={"X-API-Key": key}) as client:
        assert client.get("/api/v1/escrow/statements").status_code == 200
        listed = run(database_url, "keys", "list", doc["uscc"])
        assert listed.returncode == 0 and key[3:13] in listed.stdout and "财务室" in listed.stdout
        assert key not in listed.stdout and key[14:] not in listed.stdout
        revoked = run(database_url, "keys", "revoke", key[3:13])
        assert revoked.returncode == 0, revoked.stderr
        assert client.get("/api/v1/escrow/statements").status_code == 401
    missing = run(database_url, "keys", "issue", "91440106MA0000000X")
    assert missing.returncode == 2 and "not_found" in missing.stderr
    with engine.connect() as conn:
        actions = conn.execute(
            text(
                "SELECT action FROM audit_log WHERE entity = 'institution_key' AND entity_key = :k"
                " ORDER BY id"
            ),
            {"k": key[3:13]},
        ).scalars()
        assert list(actions) == ["issue", "revoke"]


def test_escrow_verify_passes_on_a_sound_ledger_and_names_a_broken_balance(
    database_url: str, engine: Engine, live: LiveServer
) -> None:
    doc, key = institution_with_key(engine)
    with httpx.Client(base_url=live.url, headers={"X-API-Key": key}) as client:
        r = client.post(
            "/api/v1/escrow/statements", json=statement("2026-10", 0), headers={"Idempotency-Key": idem()}
        )
        assert r.status_code == 201
    ok = run(database_url, "escrow", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "every invariant holds" in ok.stderr
    # Break a stored balance behind the database's back (the owner can switch the check off), then restore it.
    with engine.begin() as conn:
        account = conn.execute(
            text(
                "SELECT a.id FROM escrow_account a JOIN institution i ON i.id = a.institution_id"
                " WHERE i.uscc = :u AND a.kind = 'supervised_cash'"
            ),
            {"u": doc["uscc"]},
        ).scalar_one()
        conn.execute(text("ALTER TABLE escrow_account DISABLE TRIGGER escrow_account_in_step"))
        conn.execute(
            text("UPDATE escrow_account SET balance_fen = balance_fen + 1 WHERE id = :a"), {"a": account}
        )
    try:
        broken = run(database_url, "escrow", "verify")
        assert broken.returncode == 1
        assert f"account {account} (supervised_cash" in broken.stderr
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE escrow_account SET balance_fen = balance_fen - 1 WHERE id = :a"), {"a": account}
            )
            conn.execute(text("ALTER TABLE escrow_account ENABLE TRIGGER escrow_account_in_step"))
    assert run(database_url, "escrow", "verify").returncode == 0
