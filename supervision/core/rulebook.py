"""The rule engine of the service's jurisdiction, loaded once per process (规则引擎).

Every area that evaluates, explains or lists rules asks here: loading checks every parameter and calendar
file, so it happens once per jurisdiction and process, and an evaluation context (parameters resolved for
one date) is reused by every request of that day.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from rules.engine import Context, Engine


@lru_cache(maxsize=8)
def engine(jurisdiction: str) -> Engine:
    """The rule engine of a jurisdiction, loaded (and its data checked) once per process."""
    return Engine.load(jurisdiction)


@lru_cache(maxsize=32)
def context(jurisdiction: str, as_of: dt.date) -> Context:
    """The evaluation context of a date (parameters resolved once), reused by every request of that day."""
    return engine(jurisdiction).at(as_of)


def grids(jurisdiction: str) -> tuple[str, ...]:
    """The supervision grids (网格) of the jurisdiction, as configured in ``jurisdictions.yaml``."""
    return engine(jurisdiction).jurisdiction.grids
