"""The database-backed rate limiter: counts per bucket and window, atomically, and starts afresh."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from supervision.core import ratelimit

T0 = dt.datetime(2026, 11, 30, 2, 0, 5, tzinfo=dt.UTC)


def test_limit_per_bucket_and_window(session: Session) -> None:
    verdicts = [ratelimit.hit(session, "t:a", now=T0, limit=2, window_seconds=60).allowed for _ in range(3)]
    assert verdicts == [True, True, False]
    assert ratelimit.hit(session, "t:b", now=T0, limit=2, window_seconds=60).allowed
    later = ratelimit.hit(session, "t:a", now=T0 + dt.timedelta(seconds=60), limit=2, window_seconds=60)
    assert later.allowed and later.hits == 1


def test_retry_after_counts_down_to_the_next_window(session: Session) -> None:
    for _ in range(2):
        ratelimit.hit(session, "t:c", now=T0, limit=1, window_seconds=600)
    v = ratelimit.hit(session, "t:c", now=T0 + dt.timedelta(seconds=100), limit=1, window_seconds=600)
    assert not v.allowed and v.retry_after_seconds == 600 - 5 - 100
