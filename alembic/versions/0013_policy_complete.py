"""the policy complete: a licence's scope history, the first supervised month, the stored risk tier

``licence.scope_history`` (jsonb, null when never given) and ``institution.escrow_since`` (``YYYY-MM``)
carry the two optional fields of the institution document; ``institution.risk_tier``, ``risk_because`` and
``risk_changed_at`` hold the early-warning tier each evaluation computes (rules.md "Risk tier").

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
    op.add_column("institution", sa.Column("risk_tier", sa.Text(), server_default="green", nullable=False))
    op.add_column(
        "institution",
        sa.Column("risk_because", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column("institution", sa.Column("risk_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_institution_risk_tier"), "institution", "risk_tier IN ('red','yellow','green')"
    )
    op.create_index("ix_institution_risk_tier", "institution", ["risk_tier"])


def downgrade() -> None:
    op.drop_index("ix_institution_risk_tier", table_name="institution")
    op.drop_constraint(op.f("ck_institution_risk_tier"), "institution", type_="check")
    for column in ("risk_changed_at", "risk_because", "risk_tier", "escrow_since"):
        op.drop_column("institution", column)
    op.drop_column("licence", "scope_history")
