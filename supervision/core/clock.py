"""The clock, injected: no rule or job reads the wall clock on its own, so tests can pin any day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from supervision.core.errors import Invalid, Problem

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def today(self) -> dt.date:
        """The business date in Asia/Shanghai."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.now().astimezone(SHANGHAI).date()


@dataclass
class FixedClock:
    """A pinned clock for tests and demos."""

    instant: dt.datetime

    def now(self) -> dt.datetime:
        return self.instant

    def today(self) -> dt.date:
        return self.instant.astimezone(SHANGHAI).date()

    @classmethod
    def on(cls, day: dt.date, hour: int = 9) -> FixedClock:
        return cls(dt.datetime.combine(day, dt.time(hour), SHANGHAI).astimezone(dt.UTC))


def business_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(SHANGHAI).date()


def from_settings(today: str | None) -> Clock:
    """The service's clock: pinned to ``today`` (``SUPERVISION_TODAY``, YYYY-MM-DD) when set, else the
    system's."""
    if today:
        return FixedClock.on(dt.date.fromisoformat(today))
    return SystemClock()


def years_after(day: dt.date, years: int) -> dt.date:
    """``day`` moved by ``years`` (negative: back), 29 February to 28; within the calendar's range."""
    year = min(max(day.year + years, dt.MINYEAR), dt.MAXYEAR)
    return day.replace(year=year, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=year)


def check_within(day: dt.date, earliest: dt.date, latest: dt.date, loc: str) -> dt.date:
    """``day`` when it lies from ``earliest`` to ``latest``; else :class:`Invalid` naming ``loc``."""
    if not earliest <= day <= latest:
        raise Invalid(
            f"{loc} {day.isoformat()} is out of range",
            [Problem(loc, f"must be from {earliest.isoformat()} to {latest.isoformat()}")],
        )
    return day
