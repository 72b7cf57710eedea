"""decisions, complaints, list editions, scheduled job runs and rate-limit windows

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from supervision.core.audit import append_only_trigger_sql

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A published edition is immutable; a claimed one (inside the publishing transaction) may still be completed.
EDITION_GUARD_SQL = """
CREATE OR REPLACE FUNCTION list_edition_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'published' THEN
    RAISE EXCEPTION 'published list editions are immutable: % refused', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("uscc", sa.Text(), nullable=True),
        sa.Column("institution_name", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("reference", name=op.f("uq_complaint_reference")),
    )
    op.create_index(op.f("ix_complaint_uscc"), "complaint", ["uscc"], unique=False)
    op.create_table(
        "decision",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("institution_name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("basis", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("lifts_id", sa.BigInteger(), nullable=True),
        sa.Column("officer", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(kind = 'lift') = (lifts_id IS NOT NULL)", name=op.f("ck_decision_lifts")),
        sa.CheckConstraint(
            "(kind = 'rectification_order') = (deadline IS NOT NULL)", name=op.f("ck_decision_deadline")
        ),
        sa.CheckConstraint(
            "kind IN ('warning','rectification_order','suspend_licence','revoke_licence','blacklist','lift')",
            name=op.f("ck_decision_kind"),
        ),
        sa.CheckConstraint("until IS NULL OR kind = 'blacklist'", name=op.f("ck_decision_until")),
        sa.CheckConstraint(
            "deadline IS NULL OR deadline >= effective_from", name=op.f("ck_decision_deadline_order")
        ),
        sa.CheckConstraint("effective_from >= decided_on", name=op.f("ck_decision_effective_from")),
        sa.CheckConstraint("until IS NULL OR until >= effective_from", name=op.f("ck_decision_until_order")),
        sa.ForeignKeyConstraint(["lifts_id"], ["decision.id"], name=op.f("fk_decision_lifts_id_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.UniqueConstraint("lifts_id", name=op.f("uq_decision_lifts_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_decision_reference")),
    )
    op.create_index("ix_decision_uscc_effective_from", "decision", ["uscc", "effective_from"], unique=False)
    op.create_table(
        "job_run",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("runner", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint("status IN ('running','done','failed')", name=op.f("ck_job_run_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
        sa.UniqueConstraint("job_id", "fire_time", name=op.f("uq_job_run_job_id_fire_time")),
    )
    op.create_table(
        "list_edition",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prev_sha256", sa.Text(), nullable=True),
        sa.Column("sha256", sa.Text(), nullable=True),
        sa.Column("canonical", sa.LargeBinary(), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("entered_count", sa.Integer(), nullable=False),
        sa.Column("left_count", sa.Integer(), nullable=False),
        sa.Column("changed_count", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('white','warning','black')", name=op.f("ck_list_edition_kind")),
        sa.CheckConstraint(
            "status = 'claimed' OR (seq IS NOT NULL AND sha256 IS NOT NULL AND published_at IS NOT NULL"
            " AND canonical IS NOT NULL)",
            name=op.f("ck_list_edition_complete"),
        ),
        sa.CheckConstraint("status IN ('claimed','published')", name=op.f("ck_list_edition_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_edition")),
        sa.UniqueConstraint("kind", "as_of", name=op.f("uq_list_edition_kind_as_of")),
        sa.UniqueConstraint("kind", "seq", name=op.f("uq_list_edition_kind_seq")),
    )
    op.create_table(
        "rate_limit_window",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_limit_window")),
    )
    op.create_index(
        op.f("ix_rate_limit_window_window_start"), "rate_limit_window", ["window_start"], unique=False
    )
    op.create_table(
        "list_change",
        sa.Column("edition_id", sa.BigInteger(), nullable=False),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("previous_reason", sa.Text(), nullable=True),
        sa.Column("why", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.CheckConstraint("change IN ('entered','left','changed')", name=op.f("ck_list_change_change")),
        sa.PrimaryKeyConstraint("edition_id", "uscc", name=op.f("pk_list_change")),
    )
    op.create_table(
        "list_entry",
        sa.Column("edition_id", sa.BigInteger(), nullable=False),
        sa.Column("uscc", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("licence_number", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("grid", sa.Text(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("edition_id", "uscc", name=op.f("pk_list_entry")),
    )
    op.create_index(op.f("ix_list_entry_uscc"), "list_entry", ["uscc"], unique=False)

    # The canonical bytes of a large edition compress well; lz4 is much faster than the default pglz.
    op.execute(
        "DO $$ BEGIN ALTER TABLE list_edition ALTER COLUMN canonical SET COMPRESSION lz4;"
        " EXCEPTION WHEN feature_not_supported THEN NULL; END $$"
    )
    # Immutability: decisions, entries and differences are append-only; a published edition never changes.
    for table in ("decision", "list_entry", "list_change"):
        for stmt in append_only_trigger_sql(table):
            op.execute(stmt)
    op.execute(EDITION_GUARD_SQL)
    op.execute(
        "CREATE TRIGGER list_edition_immutable BEFORE UPDATE OR DELETE ON list_edition "
        "FOR EACH ROW EXECUTE FUNCTION list_edition_guard()"
    )
    op.execute(
        "CREATE TRIGGER list_edition_no_truncate BEFORE TRUNCATE ON list_edition "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_list_entry_uscc"), table_name="list_entry")
    op.drop_table("list_entry")
    op.drop_table("list_change")
    op.drop_index(op.f("ix_rate_limit_window_window_start"), table_name="rate_limit_window")
    op.drop_table("rate_limit_window")
    op.drop_table("list_edition")
    op.execute("DROP FUNCTION IF EXISTS list_edition_guard()")
    op.drop_table("job_run")
    op.drop_index("ix_decision_uscc_effective_from", table_name="decision")
    op.drop_table("decision")
    op.drop_index(op.f("ix_complaint_uscc"), table_name="complaint")
    op.drop_table("complaint")
