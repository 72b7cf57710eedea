"""The audit log keeps the before and after documents as ``json`` (the text as written), not ``jsonb``.

The audit log is written with every registry change and read rarely, one institution at a time: storing the
canonical JSON as it is costs the server no parsing into the binary form (about 40 µs a document, the
largest single cost of a bulk import's audit rows), and keeps exactly the text that was recorded.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE audit_log ALTER COLUMN before TYPE json USING before::json,"
        " ALTER COLUMN after TYPE json USING after::json"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE audit_log ALTER COLUMN before TYPE jsonb USING before::jsonb,"
        " ALTER COLUMN after TYPE jsonb USING after::jsonb"
    )
