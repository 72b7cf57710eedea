"""Scheduled job runs (定时任务记录): one row per job and scheduled fire time.

A job claims its ``(job_id, fire_time)`` row before it runs and marks it done afterwards, so the scheduler can
tell after a restart which scheduled runs were completed and catch up the one that was not. The claim is a
record, not the only guard: work that must never happen twice (a publication) claims its own unique row too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Integer, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, Session, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)


class JobRun(SQLModel, table=True):
    """定时任务记录 — one scheduled run of one job."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job_id", "fire_time"),
        CheckConstraint("status IN ('running','done','failed')", name="status"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    job_id: str = Field(sa_column=Column(Text, nullable=False))
    fire_time: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    runner: str = Field(sa_column=Column(Text, nullable=False))
    started_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))


def claim(session: Session, job_id: str, fire_time: dt.datetime, *, runner: str, now: dt.datetime) -> bool:
    """Claim a scheduled run. False when that run is already done; a failed or interrupted one is retried."""
    row = session.execute(
        text(
            "INSERT INTO job_run (job_id, fire_time, status, attempts, runner, started_at)"
            " VALUES (:j, :f, 'running', 1, :r, :now)"
            " ON CONFLICT (job_id, fire_time) DO UPDATE SET status = 'running',"
            " attempts = job_run.attempts + 1, runner = :r, started_at = :now, finished_at = NULL"
            " WHERE job_run.status <> 'done' RETURNING id"
        ),
        {"j": job_id, "f": fire_time, "r": runner, "now": now},
    ).first()
    return row is not None


def finish(
    session: Session,
    job_id: str,
    fire_time: dt.datetime,
    *,
    ok: bool,
    now: dt.datetime,
    result: dict[str, Any] | None,
) -> None:
    session.execute(
        text(
            "UPDATE job_run SET status = :s, finished_at = :now, result = CAST(:res AS jsonb)"
            " WHERE job_id = :j AND fire_time = :f"
        ),
        {
            "s": "done" if ok else "failed",
            "now": now,
            "res": None if result is None else _json(result),
            "j": job_id,
            "f": fire_time,
        },
    )


def is_done(session: Session, job_id: str, fire_time: dt.datetime) -> bool:
    return bool(
        session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM job_run"
                " WHERE job_id = :j AND fire_time = :f AND status = 'done')"
            ),
            {"j": job_id, "f": fire_time},
        ).scalar_one()
    )


def recent(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT job_id, fire_time, status, attempts, runner, started_at, finished_at, result"
            " FROM job_run ORDER BY fire_time DESC, job_id LIMIT :n"
        ),
        {"n": limit},
    )
    return [dict(r._mapping) for r in rows]


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)
