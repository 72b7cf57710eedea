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

A school year may give only what has been announced: one group, or one vacation of a group (e.g. only
``compulsory: {winter: …}``). A more specific level replaces a year (or a school year's group) that a less
specific one also defines.

A holiday question about a date has an answer when the date's year is listed. A vacation question has one
when the date's school year is listed for the stage group and the vacations given settle it: with both
vacations, every day; with the winter only, the days up to its end (the summer vacation comes after it);
with the summer only, the days from its start. A Saturday or Sunday is a rest day even in a year whose
holiday notice is not loaded (only a notice can make it a working day). Any other question without an
answer is *uncovered*: the rule reports nothing and the date is returned as uncovered, so only working days
are ever uncovered. Adding a year is editing YAML only; :meth:`Calendar.coverage` says how far the data
reaches and what is missing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    level: str = field(default="", compare=False)


@dataclass(frozen=True)
class SchoolYearGroup:
    """One stage group's vacations in one school year, as far as they have been announced: a vacation not
    given (None) is unknown, never guessed."""

    citation: str
    winter: DateRange | None
    summer: DateRange | None
    level: str = field(default="", compare=False)

    def known(self) -> tuple[str, ...]:
        return tuple(name for name in _VACATIONS if getattr(self, name) is not None)

    def answerable(self, school_year: int) -> DateRange | None:
        """The days of the school year for which "is it in this group's vacation?" has an answer.

        Both known: the whole year. Winter only: up to the winter's end (the summer vacation follows the
        winter one, so a day before it is in neither). Summer only: from the summer's start (a day after it
        is in neither). None known: no day."""
        first, last = dt.date(school_year, 9, 1), dt.date(school_year + 1, 8, 31)
        if self.winter is not None and self.summer is not None:
            return (first, last)
        if self.winter is not None:
            return (first, self.winter[1])
        if self.summer is not None:
            return (self.summer[0], last)
        return None


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
        if not isinstance(spans, dict) or not spans:
            problems.append(f"{where}: expected winter and/or summer (what has been announced)")
            continue
        _unknown(spans, frozenset(_VACATIONS), where, problems)
        ranges: dict[str, DateRange] = {}
        for vacation in _VACATIONS:
            if vacation not in spans:
                continue
            span = _range(spans[vacation], f"{where}.{vacation}", problems)
            if span is None:
                continue
            if span[0] < first or span[1] > last:
                problems.append(
                    f"{where}.{vacation}: {span[0]}–{span[1]} is outside the school year {first}–{last}"
                )
                continue
            ranges[vacation] = span
        winter, summer = ranges.get("winter"), ranges.get("summer")
        if winter is not None and summer is not None and not winter[1] < summer[0]:
            problems.append(f"{where}: the winter vacation must end before the summer vacation starts")
            continue
        if ranges:
            out[(start_year, group)] = SchoolYearGroup(citation, winter, summer)
    return out


class Calendar:
    """The merged calendar of a jurisdiction chain, with its date sets precomputed for fast look-ups."""

    def __init__(
        self,
        years: Mapping[int, HolidayYear],
        vacations: Mapping[tuple[int, str], SchoolYearGroup],
        chain: Sequence[str] = (),
    ) -> None:
        self.chain = tuple(chain)
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
            g: frozenset(
                sy for (sy, group), info in self.vacations.items() if group == g and len(info.known()) == 2
            )
            for g in GROUPS
        }
        """Per group, the school years whose winter and summer vacations are both known."""
        self.vacation_ranges: dict[str, tuple[tuple[str, DateRange], ...]] = {
            g: tuple(
                (name, span)
                for (_, group), info in self.vacations.items()
                if group == g
                for name in _VACATIONS
                if (span := getattr(info, name)) is not None
            )
            for g in GROUPS
        }
        self.vacation_days: dict[str, dict[dt.date, str]] = {
            g: {day: name for name, span in self.vacation_ranges[g] for day in _days(*span)} for g in GROUPS
        }
        self._answerable: dict[str, tuple[DateRange, ...]] = {
            g: _merge(
                span
                for (sy, group), info in self.vacations.items()
                if group == g and (span := info.answerable(sy)) is not None
            )
            for g in GROUPS
        }
        covered = _merge(
            (dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in self.years if dt.MINYEAR <= y <= dt.MAXYEAR
        )
        for g in GROUPS:
            covered = _intersect(covered, self._answerable[g])
        self.covered_ranges: tuple[DateRange, ...] = covered
        """The stretches of days on which every rest-day question has an answer: the year's holiday notice
        is loaded and both groups' vacation questions can be answered."""

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
                    "winter": _span_json(info.winter),
                    "summer": _span_json(info.summer),
                }
                for (sy, group), info in self.vacations.items()
            },
        }

    def vacation_on(self, day: dt.date, group: str) -> str | bool | None:
        """The vacation (``"winter"``/``"summer"``) of ``group`` that ``day`` is in, ``False`` when it is
        surely in none, ``None`` when the data cannot say (the school year, or the vacation that could hold
        the day, is not loaded)."""
        name = self.vacation_days[group].get(day)
        if name is not None:
            return name
        info = self.vacations.get((school_year_of(day), group))
        if info is None:
            return None
        span = info.answerable(school_year_of(day))
        return False if span is not None and span[0] <= day <= span[1] else None

    def rest_day_reason(self, day: dt.date, groups: Iterable[str]) -> tuple[str, str] | bool | None:
        """Why ``day`` is a rest day for the stage groups, as (Chinese, English) reason.

        Returns the reason when it is a rest day, ``False`` when it is surely not, and ``None`` when the
        answer depends on data the calendar does not have (the date is not covered).

        A Saturday or Sunday in a year whose State Council notice is not loaded is a rest day all the same
        (a weekend is one unless a notice makes it a make-up working day); its reason says the notice is not
        loaded, so a later run with the notice loaded clears it if the day is a make-up working day. Only a
        working day (Monday to Friday, or a make-up working weekend day) can be uncovered.
        """
        weekend = day.isoweekday() >= 6
        loaded = day.year in self.holiday_years
        if loaded:
            label = self.holidays.get(day)
            if label is not None:
                return (f"法定节假日：{label}", f"statutory holiday: {label}")
            if weekend and day not in self.makeup_workdays:
                return ("周末休息日", "weekend rest day")
        unknown = not loaded
        for group in groups:
            vacation = self.vacation_on(day, group)
            if isinstance(vacation, str):
                return _vacation_reason(vacation, group)
            if vacation is None:
                unknown = True
        if not loaded and weekend:
            return (
                f"周末休息日（{day.year}年国务院节假日安排尚未载入；如该日为调休上班日，载入后不再认定）",
                f"weekend rest day (the State Council holiday notice for {day.year} is not loaded; "
                "if the day is a make-up working day, a run with the notice loaded clears it)",
            )
        return None if unknown else False

    def term_vacations(
        self, start: dt.date, end: dt.date, groups: Iterable[str]
    ) -> tuple[list[tuple[str, str, DateRange]], list[tuple[int, str, str]]]:
        """The known vacations (name, group, span) a course term overlaps, and the vacations it might
        overlap that are not loaded, as (school year, group, name). The term's days are never listed one by
        one: an unknown vacation is a missing piece of data, not a count of days."""
        hits: list[tuple[str, str, DateRange]] = []
        unknown: list[tuple[int, str, str]] = []
        for group in groups:
            for name, span in self.vacation_ranges[group]:
                if span[0] <= end and span[1] >= start:
                    hits.append((name, group, span))
            for school_year in range(school_year_of(start), school_year_of(end) + 1):
                first, last = _clip(school_year, start, end)
                answerable = None
                info = self.vacations.get((school_year, group))
                if info is not None:
                    answerable = info.answerable(school_year)
                if answerable is not None and answerable[0] <= first and last <= answerable[1]:
                    continue
                known = info.known() if info is not None else ()
                for name in _VACATIONS:
                    if name in known:
                        continue
                    could = True
                    if info is not None and name == "winter" and info.summer is not None:
                        could = first < info.summer[0]
                    if info is not None and name == "summer" and info.winter is not None:
                        could = last > info.winter[1]
                    if could:
                        unknown.append((school_year, group, name))
        return hits, unknown

    def term_overlaps(
        self, start: dt.date, end: dt.date, groups: Iterable[str]
    ) -> tuple[list[tuple[str, str, DateRange]], frozenset[dt.date]]:
        """The vacations (name, group, span) a course term overlaps, and the term days for which a group's
        vacation question has no answer. (The rest-day rule uses :meth:`term_vacations` and does not count
        a term's days as uncovered dates.)"""
        hits, _ = self.term_vacations(start, end, groups)
        uncovered: set[dt.date] = set()
        for group in groups:
            for school_year in range(school_year_of(start), school_year_of(end) + 1):
                first, last = _clip(school_year, start, end)
                info = self.vacations.get((school_year, group))
                answerable = info.answerable(school_year) if info is not None else None
                for day in _days(first, last):
                    if answerable is None or not answerable[0] <= day <= answerable[1]:
                        uncovered.add(day)
        return hits, frozenset(uncovered)

    # --- coverage (for staff: is the data there for the days ahead?) ------------------------------------

    def covered_until(self, as_of: dt.date) -> dt.date | None:
        """The last day of the unbroken stretch of covered days that starts at ``as_of`` (None when
        ``as_of`` itself is not covered)."""
        for first, last in self.covered_ranges:
            if first <= as_of <= last:
                return last
        return None

    def missing_between(self, start: dt.date, end: dt.date) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What data the days from ``start`` to ``end`` (inclusive) need and the calendar lacks, as plain
        (Chinese, English) sentences."""
        items = self.missing(start, end)
        return tuple(m.text_zh() for m in items), tuple(m.text_en() for m in items)

    def missing(self, start: dt.date, end: dt.date) -> list[Missing]:
        """The holiday notices and school vacations that the days from ``start`` to ``end`` need and the
        calendar does not have, in date order."""
        out: list[Missing] = []
        if end < start:
            return out
        for year in range(start.year, end.year + 1):
            if year not in self.holiday_years:
                out.append(Missing("holiday_year", str(year), None, (), max(start, dt.date(year, 1, 1))))
        for school_year in range(school_year_of(start), school_year_of(end) + 1):
            first, last = _clip(school_year, start, end)
            for group in GROUPS:
                info = self.vacations.get((school_year, group))
                answerable = info.answerable(school_year) if info is not None else None
                if answerable is not None and answerable[0] <= first and last <= answerable[1]:
                    continue
                known = info.known() if info is not None else ()
                names = tuple(n for n in _VACATIONS if n not in known)
                if answerable is None or answerable[0] > first:
                    day = first
                else:
                    day = answerable[1] + dt.timedelta(days=1)
                out.append(Missing("school_year", _school_year_name(school_year), group, names, day))
        out.sort(key=lambda m: (m.first_day, m.kind, m.group or ""))
        return out

    def coverage(self, as_of: dt.date, horizon: dt.date | None = None) -> CalendarCoverage:
        """What the calendar data holds for this jurisdiction chain: the holiday years loaded (with the
        level and notice), per school year which vacations are known for each group, ``covered_until`` from
        ``as_of``, and what is missing from ``as_of`` to ``horizon`` (default: the day after
        ``covered_until``, so the first missing piece is always named)."""
        until = self.covered_until(as_of)
        if horizon is None:
            horizon = as_of if until is None else until + dt.timedelta(days=1 if until < dt.date.max else 0)
        return CalendarCoverage(
            chain=self.chain,
            as_of=as_of,
            covered_until=until,
            holiday_years=tuple(
                {"year": y, "level": info.level, "citation": info.citation} for y, info in self.years.items()
            ),
            school_years=tuple(
                {
                    "school_year": _school_year_name(sy),
                    "group": group,
                    "level": info.level,
                    "citation": info.citation,
                    "winter": _span_json(info.winter),
                    "summer": _span_json(info.summer),
                    "known": list(info.known()),
                }
                for (sy, group), info in self.vacations.items()
            ),
            missing=tuple(self.missing(as_of, horizon)),
        )


@dataclass(frozen=True)
class Missing:
    """A piece of calendar data that some days need: a year's holiday notice, or a school year's
    vacations for a stage group (``vacations`` names the ones not known)."""

    kind: str  # "holiday_year" | "school_year"
    key: str  # "2027" or "2026-27"
    group: str | None
    vacations: tuple[str, ...]
    first_day: dt.date
    """The first day (in the period asked about) that needs it."""

    def text_zh(self) -> str:
        if self.kind == "holiday_year":
            return f"{self.key}年国务院节假日安排（法定节假日与调休上班日）尚未载入"
        group = "义务教育阶段" if self.group == "compulsory" else "高中阶段"
        names = "、".join("寒假" if n == "winter" else "暑假" for n in self.vacations)
        return f"{self.key}学年{group}{names}日期尚未载入"

    def text_en(self) -> str:
        if self.kind == "holiday_year":
            return (
                f"The State Council holiday notice for {self.key} (holidays, make-up working days) "
                "is not loaded"
            )
        group = "compulsory-stage" if self.group == "compulsory" else "senior-stage"
        names = " and ".join(self.vacations)
        plural = "vacations are" if len(self.vacations) > 1 else "vacation is"
        return f"School year {self.key}: the {group} {names} {plural} not loaded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "group": self.group,
            "vacations": list(self.vacations),
            "first_day": self.first_day.isoformat(),
            "text_zh": self.text_zh(),
            "text_en": self.text_en(),
        }


@dataclass(frozen=True)
class CalendarCoverage:
    """The calendar data of a jurisdiction chain, as plain data (see :meth:`Calendar.coverage`)."""

    chain: tuple[str, ...]
    as_of: dt.date
    covered_until: dt.date | None
    holiday_years: tuple[dict[str, Any], ...]
    school_years: tuple[dict[str, Any], ...]
    missing: tuple[Missing, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": list(self.chain),
            "as_of": self.as_of.isoformat(),
            "covered_until": self.covered_until.isoformat() if self.covered_until else None,
            "holiday_years": [dict(y) for y in self.holiday_years],
            "school_years": [dict(y) for y in self.school_years],
            "missing": [m.to_dict() for m in self.missing],
        }


def _span_json(span: DateRange | None) -> list[str] | None:
    return None if span is None else [span[0].isoformat(), span[1].isoformat()]


def _school_year_name(school_year: int) -> str:
    return f"{school_year:04d}-{(school_year + 1) % 100:02d}"


def _clip(school_year: int, start: dt.date, end: dt.date) -> DateRange:
    """The part of ``start``–``end`` in the school year (kept inside the dates Python can represent)."""
    first = max(start, dt.date(school_year, 9, 1)) if school_year >= dt.MINYEAR else start
    last = min(end, dt.date(school_year + 1, 8, 31)) if school_year < dt.MAXYEAR else end
    return first, last


def _merge(spans: Iterable[DateRange]) -> tuple[DateRange, ...]:
    """Date ranges sorted, with overlapping or touching ranges joined."""
    out: list[DateRange] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return tuple(out)


def _intersect(a: Sequence[DateRange], b: Sequence[DateRange]) -> tuple[DateRange, ...]:
    out: list[DateRange] = []
    i = j = 0
    while i < len(a) and j < len(b):
        first, last = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if first <= last:
            out.append((first, last))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return _merge(out)


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
    """Merge ``<directory>/<code>.yaml`` along the chain, national first; more specific data replaces a
    year, or a school year's group, that a less specific level also gives."""
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
        years.update({y: replace(info, level=code) for y, info in file_years.items()})
        vacations.update({k: replace(info, level=code) for k, info in file_vacations.items()})
    if problems:
        raise DataFileError(problems)
    return Calendar(years, vacations, chain)
