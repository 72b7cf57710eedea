"""Calendars (校历与节假日安排): statutory holidays, make-up working days and school vacations.

Each level of the jurisdiction chain may have ``calendars/<code>.yaml`` with either or both of::

    level: national
    holiday_years:                     # State Council holiday arrangements, one entry per year
      2026:
        citation: 国务院办公厅关于2026年部分节假日安排的通知
        holidays:
          - {name: 元旦, from: 2026-01-01, to: 2026-01-03}
        makeup_workdays: [2026-01-04]  # 调休上班: weekend days that are working days

    school_years:                      # the jurisdiction's vacations, per school year and stage group
      "2025-26":                       # runs 2025-09-01 … 2026-08-31
        citation: …
        compulsory: {winter: {from: …, to: …}, summer: {from: …, to: …}}
        senior: {winter: …, summer: …}

A more specific level replaces a year (or a school year's group) that a less specific one also defines.
A holiday question about a date is *covered* when the date's year is listed; a vacation question when the
date's school year is listed for the stage group. An uncovered question has no answer: the rule reports
nothing and the date is returned as uncovered. Adding a year is editing YAML only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.yamlio import DataFileError, load_file

GROUPS = ("compulsory", "senior")
"""Stage groups for vacations: ``compulsory`` = primary and junior; ``senior``."""

_SCHOOL_YEAR = re.compile(r"(\d{4})-(\d{2})")
_FILE_FIELDS = frozenset({"level", "holiday_years", "school_years", "description"})
_YEAR_FIELDS = frozenset({"citation", "holidays", "makeup_workdays", "note"})
_HOLIDAY_FIELDS = frozenset({"name", "from", "to"})
_SCHOOL_YEAR_FIELDS = frozenset({"citation", "note", *GROUPS})
_VACATIONS = ("winter", "summer")
_RANGE_FIELDS = frozenset({"from", "to", "note"})

DateRange = tuple[dt.date, dt.date]


def school_year_of(day: dt.date) -> int:
    """The starting year of the school year containing ``day`` (a school year runs 1 September–31 August)."""
    return day.year if day.month >= 9 else day.year - 1


@dataclass(frozen=True)
class HolidayYear:
    citation: str
    holidays: tuple[tuple[str, dt.date, dt.date], ...]
    makeup_workdays: tuple[dt.date, ...]


@dataclass(frozen=True)
class SchoolYearGroup:
    citation: str
    winter: DateRange
    summer: DateRange


def _date(raw: Any, at: str, problems: list[str]) -> dt.date | None:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    problems.append(f"{at}: expected a date YYYY-MM-DD, got {raw!r}")
    return None


def _unknown(raw: Mapping[Any, Any], allowed: frozenset[str], at: str, problems: list[str]) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(f"{at}: {key}: unknown field; expected {sorted(allowed)}")


def _range(raw: Any, at: str, problems: list[str]) -> DateRange | None:
    if not isinstance(raw, dict):
        problems.append(f"{at}: expected {{from: YYYY-MM-DD, to: YYYY-MM-DD}}")
        return None
    _unknown(raw, _RANGE_FIELDS, at, problems)
    start = _date(raw.get("from"), f"{at}.from", problems)
    end = _date(raw.get("to"), f"{at}.to", problems)
    if start is None or end is None:
        return None
    if end < start:
        problems.append(f"{at}: ends {end} before it starts {start}")
        return None
    return (start, end)


def _citation(raw: Mapping[str, Any], at: str, problems: list[str]) -> str:
    citation = raw.get("citation")
    if not isinstance(citation, str) or not citation.strip():
        problems.append(f"{at}: citation: expected the notice the data comes from")
        return ""
    return citation.strip()


def parse_calendar_file(
    data: Any, name: str
) -> tuple[str, dict[int, HolidayYear], dict[tuple[int, str], SchoolYearGroup]]:
    """Check one calendar file; return its level, its holiday years and its (school year, group) vacations."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise DataFileError(
            [f"{name}: expected a mapping with 'level' and 'holiday_years' or 'school_years'"]
        )
    _unknown(data, _FILE_FIELDS, name, problems)
    level = data.get("level")
    if not isinstance(level, str):
        problems.append(f"{name}: level: expected a jurisdiction code in quotes")
        level = ""
    years: dict[int, HolidayYear] = {}
    for key, raw in (data.get("holiday_years") or {}).items():
        at = f"{name}: holiday_years.{key}"
        if isinstance(key, bool) or not isinstance(key, int) or not 1900 < key < 2200:
            problems.append(f"{at}: expected a year like 2026")
            continue
        parsed = _holiday_year(key, raw, at, problems)
        if parsed is not None:
            years[key] = parsed
    vacations: dict[tuple[int, str], SchoolYearGroup] = {}
    for key, raw in (data.get("school_years") or {}).items():
        at = f"{name}: school_years.{key}"
        match = _SCHOOL_YEAR.fullmatch(key) if isinstance(key, str) else None
        if match is None or (int(match[1]) + 1) % 100 != int(match[2]):
            problems.append(f"{at}: expected a school year in quotes like '2025-26'")
            continue
        vacations.update(_school_year(int(match[1]), raw, at, problems))
    if problems:
        raise DataFileError(problems)
    return level, years, vacations


def _holiday_year(year: int, raw: Any, at: str, problems: list[str]) -> HolidayYear | None:
    if not isinstance(raw, dict):
        problems.append(f"{at}: expected citation, holidays and makeup_workdays")
        return None
    before = len(problems)
    _unknown(raw, _YEAR_FIELDS, at, problems)
    citation = _citation(raw, at, problems)
    holidays: list[tuple[str, dt.date, dt.date]] = []
    for i, item in enumerate(raw.get("holidays") or []):
        where = f"{at}.holidays[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected {{name, from, to}}")
            continue
        _unknown(item, _HOLIDAY_FIELDS, where, problems)
        span = _range({"from": item.get("from"), "to": item.get("to")}, where, problems)
        label = item.get("name")
        if not isinstance(label, str) or not label:
            problems.append(f"{where}.name: expected the holiday's name")
            continue
        if span is not None:
            if span[0].year != year and span[1].year != year:
                problems.append(f"{where}: {span[0]}–{span[1]} is not in {year}")
            holidays.append((label, span[0], span[1]))
    makeup: list[dt.date] = []
    for i, item in enumerate(raw.get("makeup_workdays") or []):
        where = f"{at}.makeup_workdays[{i}]"
        day = _date(item, where, problems)
        if day is None:
            continue
        if day.isoweekday() < 6:
            problems.append(f"{where}: {day} is a weekday; a make-up working day is a Saturday or Sunday")
        if any(a <= day <= b for _, a, b in holidays):
            problems.append(f"{where}: {day} is also listed as a holiday")
        makeup.append(day)
    if len(problems) > before:
        return None
    return HolidayYear(citation, tuple(sorted(holidays, key=lambda h: h[1])), tuple(sorted(makeup)))


def _school_year(
    start_year: int, raw: Any, at: str, problems: list[str]
) -> dict[tuple[int, str], SchoolYearGroup]:
    if not isinstance(raw, dict):
        problems.append(f"{at}: expected citation and the groups {list(GROUPS)}")
        return {}
    _unknown(raw, _SCHOOL_YEAR_FIELDS, at, problems)
    citation = _citation(raw, at, problems)
    first, last = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    out: dict[tuple[int, str], SchoolYearGroup] = {}
    for group in GROUPS:
        if group not in raw:
            continue
        where = f"{at}.{group}"
        spans = raw[group]
        if not isinstance(spans, dict):
            problems.append(f"{where}: expected winter and summer")
            continue
        _unknown(spans, frozenset(_VACATIONS), where, problems)
        ranges: list[DateRange] = []
        for vacation in _VACATIONS:
            span = _range(spans.get(vacation), f"{where}.{vacation}", problems)
            if span is None:
                continue
            if span[0] < first or span[1] > last:
                problems.append(
                    f"{where}.{vacation}: {span[0]}–{span[1]} is outside the school year {first}–{last}"
                )
                continue
            ranges.append(span)
        if len(ranges) == 2:
            out[(start_year, group)] = SchoolYearGroup(citation, ranges[0], ranges[1])
    return out


class Calendar:
    """The merged calendar of a jurisdiction chain, with its date sets precomputed for fast look-ups."""

    def __init__(
        self, years: Mapping[int, HolidayYear], vacations: Mapping[tuple[int, str], SchoolYearGroup]
    ) -> None:
        self.years = dict(sorted(years.items()))
        self.vacations = dict(sorted(vacations.items()))
        holidays: dict[dt.date, str] = {}
        for info in self.years.values():
            for label, start, end in info.holidays:
                for day in _days(start, end):
                    holidays[day] = label
        self.holidays: Mapping[dt.date, str] = holidays
        self.makeup_workdays = frozenset(d for info in self.years.values() for d in info.makeup_workdays)
        self.holiday_years = frozenset(self.years)
        self.covered_school_years: dict[str, frozenset[int]] = {
            g: frozenset(sy for sy, group in self.vacations if group == g) for g in GROUPS
        }
        self.vacation_ranges: dict[str, tuple[tuple[str, DateRange], ...]] = {
            g: tuple(
                (name, getattr(info, name))
                for (_, group), info in self.vacations.items()
                if group == g
                for name in _VACATIONS
            )
            for g in GROUPS
        }
        self.vacation_days: dict[str, dict[dt.date, str]] = {
            g: {day: name for name, span in self.vacation_ranges[g] for day in _days(*span)} for g in GROUPS
        }

    def canonical(self) -> dict[str, Any]:
        return {
            "holiday_years": {
                str(y): {
                    "citation": info.citation,
                    "holidays": [[n, a.isoformat(), b.isoformat()] for n, a, b in info.holidays],
                    "makeup_workdays": [d.isoformat() for d in info.makeup_workdays],
                }
                for y, info in self.years.items()
            },
            "school_years": {
                f"{sy}/{group}": {
                    "citation": info.citation,
                    "winter": [info.winter[0].isoformat(), info.winter[1].isoformat()],
                    "summer": [info.summer[0].isoformat(), info.summer[1].isoformat()],
                }
                for (sy, group), info in self.vacations.items()
            },
        }

    def rest_day_reason(self, day: dt.date, groups: Iterable[str]) -> tuple[str, str] | bool | None:
        """Why ``day`` is a rest day for the stage groups, as (Chinese, English) reason.

        Returns the reason when it is a rest day, ``False`` when it is surely not, and ``None`` when the
        answer depends on data the calendar does not have (the date is not covered).
        """
        unknown = False
        if day.year in self.holiday_years:
            label = self.holidays.get(day)
            if label is not None:
                return (f"法定节假日：{label}", f"statutory holiday: {label}")
            if day.isoweekday() >= 6 and day not in self.makeup_workdays:
                return ("周末休息日", "weekend rest day")
        else:
            unknown = True
        school_year = school_year_of(day)
        for group in groups:
            if school_year in self.covered_school_years[group]:
                vacation = self.vacation_days[group].get(day)
                if vacation is not None:
                    return _vacation_reason(vacation, group)
            else:
                unknown = True
        return None if unknown else False

    def term_overlaps(
        self, start: dt.date, end: dt.date, groups: Iterable[str]
    ) -> tuple[list[tuple[str, str, DateRange]], frozenset[dt.date]]:
        """The vacations (name, group, span) a course term overlaps, and the term days whose school year
        the calendar does not cover for a group (the vacation question has no answer for them)."""
        hits: list[tuple[str, str, DateRange]] = []
        uncovered: set[dt.date] = set()
        for group in groups:
            for name, span in self.vacation_ranges[group]:
                if span[0] <= end and span[1] >= start:
                    hits.append((name, group, span))
            covered = self.covered_school_years[group]
            for school_year in range(school_year_of(start), school_year_of(end) + 1):
                if school_year not in covered:
                    first = max(start, dt.date(school_year, 9, 1)) if school_year >= dt.MINYEAR else start
                    last = min(end, dt.date(school_year + 1, 8, 31) if school_year < dt.MAXYEAR else end)
                    uncovered.update(_days(first, last))
        return hits, frozenset(uncovered)


def _vacation_reason(name: str, group: str) -> tuple[str, str]:
    zh_group = "义务教育阶段" if group == "compulsory" else "高中"
    en_group = "compulsory-stage" if group == "compulsory" else "senior-stage"
    zh = "寒假" if name == "winter" else "暑假"
    return (f"{zh_group}{zh}", f"{en_group} {name} vacation")


def vacation_label(name: str, group: str) -> tuple[str, str]:
    """(Chinese, English) label of a stage group's vacation, e.g. "义务教育阶段暑假"."""
    return _vacation_reason(name, group)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def load_calendar(directory: Path, chain: Sequence[str]) -> Calendar:
    """Merge ``<directory>/<code>.yaml`` along the chain, national first; more specific data replaces."""
    problems: list[str] = []
    years: dict[int, HolidayYear] = {}
    vacations: dict[tuple[int, str], SchoolYearGroup] = {}
    for code in chain:
        path = directory / f"{code}.yaml"
        if not path.exists():
            continue
        try:
            level, file_years, file_vacations = parse_calendar_file(load_file(path), str(path))
        except DataFileError as exc:
            problems.extend(exc.problems)
            continue
        if level != code:
            problems.append(f"{path}: level: says {level!r} but the file is for {code!r}")
            continue
        years.update(file_years)
        vacations.update(file_vacations)
    if problems:
        raise DataFileError(problems)
    return Calendar(years, vacations)
