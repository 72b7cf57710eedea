"""A small pool of asynchronous, autocommit PostgreSQL connections for the public pages' one-statement reads.

The institution page is the parents' most frequent request and must stay cheap under load: it is answered
by one SQL statement, awaited on the event loop (no worker-thread hop), on a connection in autocommit mode
(a single statement is its own transaction: no BEGIN/COMMIT round trips) that psycopg prepares after a few
uses (no planning per request). One pool per process and event loop; a connection that fails is dropped and
the statement retried once on a new one (a database restart costs no error page).
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Engine
from sqlalchemy.engine import make_url


class AsyncReadPool:
    def __init__(self, conninfo: str, size: int = 8) -> None:
        self._conninfo = conninfo
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, options="-c timezone=UTC", application_name="public-read"
        )

    async def value(self, sql: str, params: dict[str, Any], prepare: bool | None = None) -> Any:
        """The first column of the first row of ``sql`` (None when there is no row). ``prepare``: as
        psycopg's (None: prepared after a few uses; False: planned for its values every time)."""
        async with self._slots:
            for attempt in (1, 2):
                conn = self._idle.pop() if self._idle else await self._connect()
                try:
                    cur = await conn.execute(sql, params, prepare=prepare)
                    row = await cur.fetchone()
                except psycopg.OperationalError:
                    await conn.close()
                    if attempt == 2:
                        raise
                    continue
                self._idle.append(conn)
                return row[0] if row else None
        raise AssertionError("unreachable")

    async def rows(
        self,
        sql: str,
        params: dict[str, Any],
        planner: tuple[str, ...] = (),
        prepare: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Every row of ``sql`` as a dict. ``planner``: settings (``"enable_seqscan = off"``) for this
        statement alone, in a transaction of its own; ``prepare`` as for :meth:`value`."""
        async with self._slots:
            for attempt in (1, 2):
                conn = self._idle.pop() if self._idle else await self._connect()
                try:
                    cur = conn.cursor(row_factory=dict_row)
                    # Settings are local to a transaction: without any, the statement is its own.
                    async with conn.transaction() if planner else nullcontext():
                        for setting in planner:
                            await cur.execute(f"SET LOCAL {setting}")
                        await cur.execute(sql, params, prepare=prepare)
                        out = await cur.fetchall()
                except psycopg.OperationalError:
                    await conn.close()
                    if attempt == 2:
                        raise
                    continue
                self._idle.append(conn)
                return out
        raise AssertionError("unreachable")

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


_pools: dict[tuple[str, int], AsyncReadPool] = {}


def pool_for(engine: Engine) -> AsyncReadPool:
    """The pool reading the database of ``engine`` on the running event loop."""
    conninfo = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
    key = (conninfo, id(asyncio.get_running_loop()))
    pool = _pools.get(key)
    if pool is None:
        pool = _pools[key] = AsyncReadPool(conninfo)
    return pool
