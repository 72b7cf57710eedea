"""The rule engine of the service's jurisdiction, loaded once per process (规则引擎).

Every area that evaluates, explains or lists rules asks here: loading checks every parameter and calendar
file, so it happens once per jurisdiction and process, and an evaluation context (parameters resolved for
one date) is reused by every request of that day.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from rules.engine import Context, CoverageCheck, Engine


@lru_cache(maxsize=8)
def engine(jurisdiction: str) -> Engine:
    """The rule engine of a jurisdiction, loaded (and its data checked) once per process."""
    return Engine.load(jurisdiction)


@lru_cache(maxsize=32)
def context(jurisdiction: str, as_of: dt.date) -> Context:
    """The evaluation context of a date (parameters resolved once), reused by every request of that day."""
    return engine(jurisdiction).at(as_of)


@lru_cache(maxsize=32)
def calendar_coverage(jurisdiction: str, as_of: dt.date) -> CoverageCheck:
    """How far the calendar data (holiday notices, school vacations) reaches beyond ``as_of``, and whether
    staff should add next year's notice now (fewer than ``calendar.warning_days`` days left)."""
    return engine(jurisdiction).calendar_coverage(as_of)


def grids(jurisdiction: str) -> tuple[str, ...]:
    """The supervision grids (网格) of the jurisdiction, as configured in ``jurisdictions.yaml``."""
    return engine(jurisdiction).jurisdiction.grids


def is_working_day(jurisdiction: str, day: dt.date) -> bool:
    """A working day (工作日) by the State Council's holiday notices in the calendar data: not a statutory
    holiday, and not a Saturday or Sunday unless it is a make-up working day (调休上班). For a year whose
    notice is not loaded, Monday to Friday."""
    calendar = engine(jurisdiction).calendar
    if day in calendar.holidays:
        return False
    return day.isoweekday() < 6 or day in calendar.makeup_workdays


def add_working_days(jurisdiction: str, start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (a deadline counted in working days, start excluded)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(jurisdiction, day):
            left -= 1
    return day
