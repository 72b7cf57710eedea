"""A course's slots, sessions and packages: their reference to the course checked once per statement.

These three tables hold most of the registry's rows (about ten of the fourteen of an institution). A foreign
key is checked by PostgreSQL one row at a time (a lookup and a lock on the course row for every inserted
row), which cost about a quarter of storing the 100k registry. The per-row keys are replaced by triggers
doing the same work once per statement, with the same guarantees:

- an insert or update whose rows name a course that does not exist is refused (SQLSTATE 23503, as a
  foreign key would);
- deleting courses deletes their slots, sessions and packages (as ``ON DELETE CASCADE``), in one statement
  per table; truncating ``course`` truncates them too;
- a course's id cannot change (nothing changes it; a key would have had to follow it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILDREN = ("course_slot", "course_session", "prepaid_package")

UPGRADE_SQL = [
    """
CREATE FUNCTION course_children_have_courses() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  missing bigint;
BEGIN
  SELECT n.course_id INTO missing FROM (SELECT DISTINCT course_id FROM new_rows) n
   WHERE NOT EXISTS (SELECT 1 FROM course c WHERE c.id = n.course_id) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: course % does not exist', TG_TABLE_NAME, missing
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION course_children_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM course_slot WHERE course_id IN (SELECT id FROM old_courses);
  DELETE FROM course_session WHERE course_id IN (SELECT id FROM old_courses);
  DELETE FROM prepaid_package WHERE course_id IN (SELECT id FROM old_courses);
  RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION course_children_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE course_slot, course_session, prepaid_package;
  RETURN NULL;
END $$;
""",
    """
CREATE FUNCTION course_id_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id THEN
    RAISE EXCEPTION 'course: the id of a course cannot change (%)', OLD.id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END $$;
""",
    "CREATE TRIGGER course_children_cascade AFTER DELETE ON course"
    " REFERENCING OLD TABLE AS old_courses FOR EACH STATEMENT EXECUTE FUNCTION course_children_cascade()",
    "CREATE TRIGGER course_children_truncate BEFORE TRUNCATE ON course"
    " FOR EACH STATEMENT EXECUTE FUNCTION course_children_truncate()",
    "CREATE TRIGGER course_id_unchanged BEFORE UPDATE OF id ON course"
    " FOR EACH ROW EXECUTE FUNCTION course_id_unchanged()",
]
for _t in CHILDREN:
    UPGRADE_SQL += [
        f"CREATE TRIGGER {_t}_course_inserted AFTER INSERT ON {_t} REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION course_children_have_courses()",
        f"CREATE TRIGGER {_t}_course_updated AFTER UPDATE ON {_t} REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION course_children_have_courses()",
    ]

DOWNGRADE_SQL = [
    *(f"DROP TRIGGER {_t}_course_{when} ON {_t}" for _t in CHILDREN for when in ("inserted", "updated")),
    "DROP TRIGGER course_id_unchanged ON course",
    "DROP TRIGGER course_children_truncate ON course",
    "DROP TRIGGER course_children_cascade ON course",
    "DROP FUNCTION course_id_unchanged()",
    "DROP FUNCTION course_children_truncate()",
    "DROP FUNCTION course_children_cascade()",
    "DROP FUNCTION course_children_have_courses()",
]


def upgrade() -> None:
    for table in CHILDREN:
        op.drop_constraint(f"fk_{table}_course_id_course", table, type_="foreignkey")
    for sql in UPGRADE_SQL:
        op.execute(sql)


def downgrade() -> None:
    for sql in DOWNGRADE_SQL:
        op.execute(sql)
    for table in CHILDREN:
        op.create_foreign_key(
            f"fk_{table}_course_id_course", table, "course", ["course_id"], ["id"], ondelete="CASCADE"
        )
