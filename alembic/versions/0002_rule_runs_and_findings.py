"""rule runs and findings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 21:07:50.388722
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_run",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=False),
        sa.Column("parameter_hash", sa.Text(), nullable=False),
        sa.Column("engine_version", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("institutions", sa.Integer(), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("uncovered_dates", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.CheckConstraint("scope IN ('full','institution')", name=op.f("ck_rule_run_scope")),
        sa.CheckConstraint(
            "scope = 'institution' OR institution_id IS NULL", name=op.f("ck_rule_run_institution")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_rule_run_institution_id_institution"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_run")),
    )
    op.create_index(op.f("ix_rule_run_institution_id"), "rule_run", ["institution_id"], unique=False)
    op.create_table(
        "finding",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("trace", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("first_run_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_run_id", sa.BigInteger(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_run_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "severity IN ('critical','major','minor','notice')", name=op.f("ck_finding_severity")
        ),
        sa.CheckConstraint("status IN ('open','resolved')", name=op.f("ck_finding_status")),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_on IS NULL AND resolved_run_id IS NULL)",
            name=op.f("ck_finding_resolution"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_finding_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
        postgresql_with={"fillfactor": 55},
    )
    op.create_index(op.f("ix_finding_institution_id"), "finding", ["institution_id"], unique=False)
    op.create_index(
        "uq_finding_open",
        "finding",
        ["institution_id", "rule_id", "subject"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_finding_open_list",
        "finding",
        ["severity", "rule_id", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("ix_finding_open_list", table_name="finding", postgresql_where=sa.text("status = 'open'"))
    op.drop_index("uq_finding_open", table_name="finding", postgresql_where=sa.text("status = 'open'"))
    op.drop_index(op.f("ix_finding_institution_id"), table_name="finding")
    op.drop_table("finding")
    op.drop_index(op.f("ix_rule_run_institution_id"), table_name="rule_run")
    op.drop_table("rule_run")
