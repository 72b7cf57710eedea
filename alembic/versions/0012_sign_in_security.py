"""sign-in security: failed sign-ins counted per account and per address, sessions that end when idle,
the portal's second CSRF token gone (one scheme for every form)

``sign_in_throttle`` counts the failed sign-ins of an account or a client address in the current window and
the lock they caused; it lives in the database so that every server process sees one count. Each staff and
portal session records when it was last used (``last_seen_at``; existing sessions: when they were opened),
so that an idle one ends. The portal session's own CSRF token is dropped: the portal's forms use the
double-submit token of the rest of the site.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_sign_in_throttle")),
    )
    op.create_index(
        op.f("ix_sign_in_throttle_locked_until"), "sign_in_throttle", ["locked_until"], unique=False
    )
    for table in ("staff_session", "portal_session"):
        op.add_column(table, sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        op.execute(f"UPDATE {table} SET last_seen_at = created_at")
        op.alter_column(table, "last_seen_at", nullable=False)
        op.create_index(op.f(f"ix_{table}_expires_at"), table, ["expires_at"], unique=False)
    op.drop_column("portal_session", "csrf_token")


def downgrade() -> None:
    op.add_column("portal_session", sa.Column("csrf_token", sa.Text(), nullable=False, server_default=""))
    op.alter_column("portal_session", "csrf_token", server_default=None)
    for table in ("staff_session", "portal_session"):
        op.drop_index(op.f(f"ix_{table}_expires_at"), table_name=table)
        op.drop_column(table, "last_seen_at")
    op.drop_index(op.f("ix_sign_in_throttle_locked_until"), table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")
