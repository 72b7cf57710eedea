"""the application's role: owns nothing, may only read and append to the append-only tables

``supervision_app`` is a group role without login. The service connects as the login user (the tables'
owner, who runs migrations) and works as ``supervision_app`` (``SUPERVISION_APP_ROLE``: ``SET ROLE`` on
every connection): it may read and write the ordinary tables, draw from the sequences, read and insert into
the append-only tables (those a ``refuse_change()`` trigger guards), and nothing else: it cannot alter,
truncate or disable the triggers of any table, update or delete an append-only row even with the trigger
gone, or change the migration history. Tables created by later migrations get the same grants (default
privileges); an append-only one loses UPDATE and DELETE again through ``append_only_trigger_sql``.

The role is created once per server (roles are not per database); the login user becomes a member so that
it may ``SET ROLE`` (a superuser needs not). Where the login user may not create roles, an administrator
creates ``supervision_app`` (NOLOGIN) beforehand and grants it to the login user; this migration then only
grants.

Revision ID: 0011
Revises: 0009 (the number 0010 was never used)
"""

from collections.abc import Sequence

from alembic import op
from supervision.core.audit import APP_ROLE

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- another database of this server migrating at the same moment created it
END $$;
"""

JOIN_ROLE = f"""
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
    EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
  END IF;
EXCEPTION WHEN unique_violation THEN
  NULL;
END $$;
"""

# An append-only table is one a refuse_change() trigger guards against UPDATE (tgtype bit 16) or DELETE (8).
REVOKE_APPEND_ONLY = f"""
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid::regclass AS tab,
           bool_or(tg.tgtype & 16 <> 0) AS upd,
           bool_or(tg.tgtype & 8 <> 0) AS del
      FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE tg.tgfoid = 'refuse_change'::regproc AND n.nspname = 'public' AND tg.tgattr = ''
     GROUP BY c.oid
  LOOP
    IF t.upd THEN
      EXECUTE format('REVOKE UPDATE ON %s FROM {APP_ROLE}', t.tab);
    END IF;
    IF t.del THEN
      EXECUTE format('REVOKE DELETE ON %s FROM {APP_ROLE}', t.tab);
    END IF;
  END LOOP;
END $$;
"""

UPGRADE = [
    CREATE_ROLE,
    JOIN_ROLE,
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
    f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}",
    REVOKE_APPEND_ONLY,
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
]

DOWNGRADE = [
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}",
    f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}",
    f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}",
    # The role stays: it belongs to the server, and other databases on it may still use it.
]


def upgrade() -> None:
    for stmt in UPGRADE:
        op.execute(stmt)


def downgrade() -> None:
    for stmt in DOWNGRADE:
        op.execute(stmt)
