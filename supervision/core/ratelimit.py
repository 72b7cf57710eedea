"""A rate limiter kept in PostgreSQL (限流), so that it holds across several server processes.

Fixed windows: each ``(bucket, window_start)`` row counts the hits in one window. A hit is an upsert that
returns the new count, atomic under concurrency. Old windows are deleted when a new window row is created.
The web layer counts each hit in a short transaction of its own (:func:`hit_committed`), committed before
the request's work starts: a request that fails, even with a 500, has still been counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Engine, Integer, PrimaryKeyConstraint, Text, text
from sqlmodel import Field, Session, SQLModel

from supervision.core import models as _models  # noqa: F401  (naming convention)


class RateLimitWindow(SQLModel, table=True):
    """限流计数 — hits of one bucket (e.g. ``complaint:<client address>``) in one time window."""

    __tablename__ = "rate_limit_window"
    __table_args__ = (PrimaryKeyConstraint("bucket", "window_start"),)

    bucket: str = Field(sa_column=Column(Text, nullable=False))
    window_start: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    hits: int = Field(sa_column=Column(Integer, nullable=False))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    limit: int
    retry_after_seconds: int


def hit(session: Session, bucket: str, *, now: dt.datetime, limit: int, window_seconds: int) -> Verdict:
    """Count one hit for ``bucket``; allowed while the window holds at most ``limit`` hits."""
    epoch = int(now.timestamp())
    start_ts = epoch - epoch % window_seconds
    start = dt.datetime.fromtimestamp(start_ts, dt.UTC)
    row = session.execute(
        text(
            "INSERT INTO rate_limit_window (bucket, window_start, hits) VALUES (:b, :w, 1)"
            " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_window.hits + 1"
            " RETURNING hits, (xmax = 0) AS inserted"
        ),
        {"b": bucket, "w": start},
    ).one()
    if row.inserted:
        session.execute(
            text("DELETE FROM rate_limit_window WHERE window_start < :old"),
            {"old": start - dt.timedelta(days=1)},
        )
    hits = int(row.hits)
    return Verdict(hits <= limit, hits, limit, max(start_ts + window_seconds - epoch, 1))


def hit_committed(
    engine: Engine, bucket: str, *, now: dt.datetime, limit: int, window_seconds: int
) -> Verdict:
    """:func:`hit` in a transaction of its own, committed at once: the hit is kept whatever becomes of the
    request that made it."""
    with Session(engine) as session:
        verdict = hit(session, bucket, now=now, limit=limit, window_seconds=window_seconds)
        session.commit()
    return verdict
