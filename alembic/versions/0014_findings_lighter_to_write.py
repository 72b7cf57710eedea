"""findings and risk tiers lighter to write: no foreign key to the institution (a trigger deletes them with
it), and a finding's trace kept as ``json``

``finding`` and ``institution_risk`` are derived from the registry by every evaluation, and a full run writes
hundreds of thousands of them. A foreign key checks each row it inserts with a query that also locks the
institution's row (a write to the institution table for every institution): in a first run that cost about
as much as writing the findings. The keys go; what they guaranteed is kept another way:

- deleting institutions deletes their findings and tier in the same statement (the statement trigger
  ``institution_derived_rows`` below, as ``ON DELETE CASCADE`` did);
- the evaluations write only institutions that exist: a full run only those still in its scope, with
  deletions waiting for it while it writes; a re-evaluation holds the institution's lock, which a deletion
  takes too (``compliance.registry_changes.delete_institution``).

A finding's trace is kept as ``json`` (its text as the engine wrote it), not ``jsonb``: no query looks inside
it, a run writes hundreds of thousands at a time and reads them back only to show them, and the text is
smaller, cheaper to check on the way in and keeps the engine's order (facts, parameters, comparison).

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
    op.execute("ALTER TABLE finding ALTER COLUMN trace TYPE json USING trace::json")


def downgrade() -> None:
    op.execute("ALTER TABLE finding ALTER COLUMN trace TYPE jsonb USING trace::jsonb")
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
