"""the policy complete: a licence's scope history, the first supervised month, the stored risk tier

``licence.scope_history`` (jsonb, null when never given) and ``institution.escrow_since`` (``YYYY-MM``)
carry the two optional fields of the institution document; ``institution_risk`` holds the early-warning tier
each evaluation computes (rules.md "Risk tier"), one narrow row per institution that has had a tier other
than green.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("licence", sa.Column("scope_history", postgresql.JSONB(), nullable=True))
    op.add_column("institution", sa.Column("escrow_since", sa.Text(), nullable=True))
    op.create_table(
        "institution_risk",
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("because", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tier IN ('red','yellow','green')", name=op.f("ck_institution_risk_tier")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_institution_risk_institution_id_institution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("institution_id", name=op.f("pk_institution_risk")),
        postgresql_with={"fillfactor": 70},
    )


def downgrade() -> None:
    op.drop_table("institution_risk")
    op.drop_column("institution", "escrow_since")
    op.drop_column("licence", "scope_history")
