"""escrow: institution keys, portal sessions, statements, lines and the double-entry ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:20:33.572073
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from supervision.core.audit import APPEND_ONLY_SQL, append_only_trigger_sql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = (
    "escrow_statement",
    "escrow_statement_line",
    "escrow_idempotency",
    "escrow_transaction",
    "escrow_entry",
)

LEDGER_CHECKS_SQL = [
    """
CREATE FUNCTION escrow_check_transaction(txn bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  total numeric;
  n integer;
  rev bigint;
  mismatched integer;
BEGIN
  SELECT coalesce(sum(amount_fen), 0), count(*) INTO total, n FROM escrow_entry WHERE transaction_id = txn;
  IF n < 2 OR total <> 0 THEN
    RAISE EXCEPTION 'escrow transaction % does not balance: % entries summing to % fen', txn, n, total
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT reverses_id INTO rev FROM escrow_transaction WHERE id = txn;
  IF rev IS NOT NULL THEN
    SELECT count(*) INTO mismatched FROM (
      SELECT account_id, sum(amount_fen) AS s FROM escrow_entry
       WHERE transaction_id IN (txn, rev) GROUP BY account_id) x
     WHERE s <> 0;
    IF mismatched > 0 THEN
      RAISE EXCEPTION 'escrow transaction % does not exactly reverse transaction %', txn, rev
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
END $$;
""",
    """
CREATE FUNCTION escrow_check_account(acct bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  stored bigint;
  computed numeric;
BEGIN
  SELECT balance_fen INTO stored FROM escrow_account WHERE id = acct;
  SELECT coalesce(sum(amount_fen), 0) INTO computed FROM escrow_entry WHERE account_id = acct;
  IF stored IS DISTINCT FROM computed THEN
    RAISE EXCEPTION 'escrow account %: stored balance % differs from its entries %', acct, stored, computed
      USING ERRCODE = 'check_violation';
  END IF;
END $$;
""",
    """
CREATE FUNCTION escrow_entry_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM escrow_check_transaction(NEW.transaction_id);
  PERFORM escrow_check_account(NEW.account_id);
  RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION escrow_transaction_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM escrow_check_transaction(NEW.id);
  RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION escrow_account_checks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM escrow_check_account(NEW.id);
  RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION escrow_lines_have_statements() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing bigint;
BEGIN
  SELECT n.statement_id INTO missing FROM (SELECT DISTINCT statement_id FROM new_lines) n
   WHERE NOT EXISTS (SELECT 1 FROM escrow_statement s WHERE s.id = n.statement_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'escrow_statement_line: statement % does not exist', missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
""",
    "CREATE TRIGGER escrow_statement_line_statement AFTER INSERT ON escrow_statement_line"
    " REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION escrow_lines_have_statements()",
    "CREATE CONSTRAINT TRIGGER escrow_entry_balanced AFTER INSERT ON escrow_entry"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION escrow_entry_checks()",
    "CREATE CONSTRAINT TRIGGER escrow_transaction_balanced AFTER INSERT ON escrow_transaction"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION escrow_transaction_checks()",
    "CREATE CONSTRAINT TRIGGER escrow_account_in_step AFTER INSERT OR UPDATE ON escrow_account"
    " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION escrow_account_checks()",
]
"""Checked at commit: every transaction has at least two entries summing to zero, a reversal negates exactly
what it reverses, and every account's stored balance equals the sum of its entries."""

LEDGER_CHECKS_DROP_SQL = [
    "DROP TRIGGER IF EXISTS escrow_statement_line_statement ON escrow_statement_line",
    "DROP FUNCTION IF EXISTS escrow_lines_have_statements()",
    "DROP TRIGGER IF EXISTS escrow_account_in_step ON escrow_account",
    "DROP TRIGGER IF EXISTS escrow_transaction_balanced ON escrow_transaction",
    "DROP TRIGGER IF EXISTS escrow_entry_balanced ON escrow_entry",
    "DROP FUNCTION IF EXISTS escrow_account_checks()",
    "DROP FUNCTION IF EXISTS escrow_transaction_checks()",
    "DROP FUNCTION IF EXISTS escrow_entry_checks()",
    "DROP FUNCTION IF EXISTS escrow_check_account(bigint)",
    "DROP FUNCTION IF EXISTS escrow_check_transaction(bigint)",
]


def upgrade() -> None:
    op.create_table(
        "escrow_account",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('supervised_cash','brought_forward','received','released','refunded',"
            "'unearned_liability','liability_changes','risk_reserve','reserve_deposits')",
            name=op.f("ck_escrow_account_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_escrow_account_institution_id_institution"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_account")),
        sa.UniqueConstraint("id", "institution_id", name=op.f("uq_escrow_account_id_institution_id")),
        sa.UniqueConstraint("institution_id", "kind", name=op.f("uq_escrow_account_institution_id_kind")),
    )
    op.create_table(
        "escrow_statement",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("opening_balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("receipts_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunds_fen", sa.BigInteger(), nullable=False),
        sa.Column("closing_balance_fen", sa.BigInteger(), nullable=False),
        sa.Column("bank_reported_balance_fen", sa.BigInteger(), nullable=True),
        sa.Column("reserve_balance_fen", sa.BigInteger(), nullable=True),
        sa.Column("unearned_liability_fen", sa.BigInteger(), nullable=False),
        sa.Column("amends_id", sa.BigInteger(), nullable=True),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("reconciliation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("requirement", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("mode IN ('bank_custody','risk_reserve')", name=op.f("ck_escrow_statement_mode")),
        sa.CheckConstraint("period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'", name=op.f("ck_escrow_statement_period")),
        sa.CheckConstraint("source IN ('json','csv')", name=op.f("ck_escrow_statement_source")),
        sa.CheckConstraint(
            "closing_balance_fen = opening_balance_fen + receipts_fen - released_fen - refunds_fen",
            name=op.f("ck_escrow_statement_closing"),
        ),
        sa.CheckConstraint(
            "opening_balance_fen >= 0 AND receipts_fen >= 0 AND released_fen >= 0 AND refunds_fen >= 0"
            " AND closing_balance_fen >= 0 AND unearned_liability_fen >= 0"
            " AND coalesce(bank_reported_balance_fen, 0) >= 0 AND coalesce(reserve_balance_fen, 0) >= 0",
            name=op.f("ck_escrow_statement_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["amends_id", "institution_id", "period"],
            ["escrow_statement.id", "escrow_statement.institution_id", "escrow_statement.period"],
            name="fk_escrow_statement_amends_same_period",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_escrow_statement_institution_id_institution"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_statement")),
        sa.UniqueConstraint("amends_id", name=op.f("uq_escrow_statement_amends_id")),
        sa.UniqueConstraint(
            "id", "institution_id", "period", name=op.f("uq_escrow_statement_id_institution_id_period")
        ),
        sa.UniqueConstraint("id", "institution_id", name=op.f("uq_escrow_statement_id_institution_id")),
    )
    op.create_index(
        "ix_escrow_statement_institution_id_period",
        "escrow_statement",
        ["institution_id", "period"],
        unique=False,
    )
    op.create_index(
        "uq_escrow_statement_original",
        "escrow_statement",
        ["institution_id", "period"],
        unique=True,
        postgresql_where=sa.text("amends_id IS NULL"),
    )
    op.create_table(
        "institution_key",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("public_id", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_institution_key_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_institution_key_public_id")),
    )
    op.create_index(
        op.f("ix_institution_key_institution_id"), "institution_key", ["institution_id"], unique=False
    )
    op.create_table(
        "escrow_idempotency",
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_sha256", sa.Text(), nullable=False),
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_escrow_idempotency_institution_id_institution"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["escrow_statement.id"],
            name=op.f("fk_escrow_idempotency_statement_id_escrow_statement"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("institution_id", "key", name=op.f("pk_escrow_idempotency")),
        sa.UniqueConstraint("statement_id", name=op.f("uq_escrow_idempotency_statement_id")),
    )
    op.create_table(
        "escrow_statement_line",
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("package_code", sa.Text(), nullable=True),
        sa.Column("lessons", sa.Integer(), nullable=True),
        sa.Column("months", sa.SmallInteger(), nullable=True),
        sa.CheckConstraint(
            "type IN ('receipt','release','refund')", name=op.f("ck_escrow_statement_line_type")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_escrow_statement_line_amount")),
        sa.PrimaryKeyConstraint("statement_id", "seq", name=op.f("pk_escrow_statement_line")),
    )
    op.create_table(
        "escrow_transaction",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("statement_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('opening','receipts','releases','refunds','liability','reserve')",
            name=op.f("ck_escrow_transaction_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id", "institution_id"],
            ["escrow_transaction.id", "escrow_transaction.institution_id"],
            name="fk_escrow_transaction_reverses_same_institution",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id", "institution_id"],
            ["escrow_statement.id", "escrow_statement.institution_id"],
            name="fk_escrow_transaction_statement_same_institution",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_transaction")),
        sa.UniqueConstraint("id", "institution_id", name=op.f("uq_escrow_transaction_id_institution_id")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_escrow_transaction_reverses_id")),
    )
    op.create_index(
        "ix_escrow_transaction_institution_id_id",
        "escrow_transaction",
        ["institution_id", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_escrow_transaction_statement_id"), "escrow_transaction", ["statement_id"], unique=False
    )
    op.create_table(
        "portal_session",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["institution_key.id"],
            name=op.f("fk_portal_session_key_id_institution_key"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_portal_session_token_sha256")),
    )
    op.create_index(op.f("ix_portal_session_key_id"), "portal_session", ["key_id"], unique=False)
    op.create_table(
        "escrow_entry",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_escrow_entry_amount")),
        sa.ForeignKeyConstraint(
            ["account_id", "institution_id"],
            ["escrow_account.id", "escrow_account.institution_id"],
            name="fk_escrow_entry_account_same_institution",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id", "institution_id"],
            ["escrow_transaction.id", "escrow_transaction.institution_id"],
            name="fk_escrow_entry_transaction_same_institution",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escrow_entry")),
    )
    op.create_index(op.f("ix_escrow_entry_account_id"), "escrow_entry", ["account_id"], unique=False)
    op.create_index(op.f("ix_escrow_entry_transaction_id"), "escrow_entry", ["transaction_id"], unique=False)

    # refuse_change() is created by 0001; re-creating it (CREATE OR REPLACE) keeps this migration standalone.
    op.execute(APPEND_ONLY_SQL)
    for table in APPEND_ONLY_TABLES:
        for stmt in append_only_trigger_sql(table):
            op.execute(stmt)
    for stmt in LEDGER_CHECKS_SQL:
        op.execute(stmt)


def downgrade() -> None:
    for stmt in LEDGER_CHECKS_DROP_SQL:
        op.execute(stmt)
    op.drop_index(op.f("ix_escrow_entry_transaction_id"), table_name="escrow_entry")
    op.drop_index(op.f("ix_escrow_entry_account_id"), table_name="escrow_entry")
    op.drop_table("escrow_entry")
    op.drop_index(op.f("ix_portal_session_key_id"), table_name="portal_session")
    op.drop_table("portal_session")
    op.drop_index(op.f("ix_escrow_transaction_statement_id"), table_name="escrow_transaction")
    op.drop_index("ix_escrow_transaction_institution_id_id", table_name="escrow_transaction")
    op.drop_table("escrow_transaction")
    op.drop_table("escrow_statement_line")
    op.drop_table("escrow_idempotency")
    op.drop_index(op.f("ix_institution_key_institution_id"), table_name="institution_key")
    op.drop_table("institution_key")
    op.drop_index("ix_escrow_statement_institution_id_period", table_name="escrow_statement")
    op.drop_index(
        "uq_escrow_statement_original",
        table_name="escrow_statement",
        postgresql_where=sa.text("amends_id IS NULL"),
    )
    op.drop_table("escrow_statement")
    op.drop_table("escrow_account")
