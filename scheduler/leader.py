"""Leadership (调度主进程): only the holder of a session-level PostgreSQL advisory lock runs jobs.

The lock lives on a dedicated connection opened for nothing else, so it is held exactly as long as that
connection: when the process dies, PostgreSQL drops the connection and the lock with it, and a waiting
scheduler takes over.
"""

from __future__ import annotations

import contextlib
import logging

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger("scheduler.leader")

LOCK_CLASS = 72_407
LOCK_ID = 1


def conninfo(sqlalchemy_url: str) -> str:
    """A libpq URL for psycopg from the service's SQLAlchemy URL."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class LeaderLock:
    def __init__(self, url: str) -> None:
        self._conninfo = conninfo(url)
        self._conn: psycopg.Connection | None = None
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.held:
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._conninfo, autocommit=True, application_name="scheduler")
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, LOCK_ID)).fetchone()
        except psycopg.Error as exc:
            log.warning("cannot reach the database for the leader lock: %s", exc)
            self._drop()
            return False
        self.held = bool(row and row[0])
        return self.held

    def alive(self) -> bool:
        """Whether the lock is still held (its connection still answers)."""
        if not self.held or self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed and self.held:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, LOCK_ID))
        self._drop()

    def _drop(self) -> None:
        self.held = False
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
