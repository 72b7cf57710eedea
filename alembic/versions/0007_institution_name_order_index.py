"""An index in the order search results are shown (name, then credit code).

A fragment as broad as 广州 or 有限公司 matches most of the registry; its first page is then found by walking
the names in order and keeping the matches, which stops after a page, instead of fetching and sorting every
match (see ``lists.public.search``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_institution_name_uscc", "institution", ["name", "uscc"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_institution_name_uscc", table_name="institution")
