"""findings and risk tiers without a foreign key to the institution; deleted with it by a trigger

``finding`` and ``institution_risk`` are derived from the registry by every evaluation, and a full run writes
hundreds of thousands of them. A foreign key checks each row it inserts with a query that also locks the
institution's row (a write to the institution table for every institution): in a first run that cost about
as much as writing the findings. The keys go; what they guaranteed is kept another way:

- deleting institutions deletes their findings and tier in the same statement (the statement trigger
  ``institution_derived_rows`` below, as ``ON DELETE CASCADE`` did);
- the evaluations write only institutions that exist: a full run only those still in its scope, with
  deletions waiting for it while it writes; a re-evaluation holds the institution's lock, which a deletion
  takes too (``compliance.registry_changes.delete_institution``).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_FUNCTION = """
CREATE FUNCTION delete_derived_of_institutions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM finding WHERE institution_id IN (SELECT id FROM gone);
  DELETE FROM institution_risk WHERE institution_id IN (SELECT id FROM gone);
  RETURN NULL;
END $$
"""
CREATE_TRIGGER = """
CREATE TRIGGER institution_derived_rows AFTER DELETE ON institution
REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION delete_derived_of_institutions()
"""


def upgrade() -> None:
    for table in ("finding", "institution_risk"):
        op.drop_constraint(f"fk_{table}_institution_id_institution", table, type_="foreignkey")
    op.execute(CREATE_FUNCTION)
    op.execute(CREATE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER institution_derived_rows ON institution")
    op.execute("DROP FUNCTION delete_derived_of_institutions()")
    for table in ("finding", "institution_risk"):
        op.execute(
            f"DELETE FROM {table} t"
            " WHERE NOT EXISTS (SELECT 1 FROM institution i WHERE i.id = t.institution_id)"
        )
        op.create_foreign_key(
            op.f(f"fk_{table}_institution_id_institution"),
            table,
            "institution",
            ["institution_id"],
            ["id"],
            ondelete="CASCADE",
        )
