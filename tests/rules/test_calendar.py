"""Calendars: coverage, rest days, vacations by stage group, and adding a year by editing YAML only."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from rules import DataFileError, Engine
from rules.engine import DATA_DIR

D = dt.date
CAL = Engine.load("440106").calendar


def test_holiday_years_covered() -> None:
    assert CAL.holiday_years == frozenset({2025, 2026})
    assert CAL.covered_school_years == {
        "compulsory": frozenset({2024, 2025}),
        "senior": frozenset({2024, 2025}),
    }


@pytest.mark.parametrize(
    ("day", "groups", "rest"),
    [
        (D(2026, 5, 13), ("compulsory",), False),  # Wednesday
        (D(2026, 5, 16), ("compulsory",), True),  # ordinary Saturday
        (D(2026, 5, 9), ("compulsory",), False),  # make-up working Saturday
        (D(2026, 1, 4), ("compulsory",), False),  # make-up working Sunday
        (D(2026, 5, 1), ("compulsory",), True),  # Labour Day, a Friday
        (D(2026, 7, 10), ("compulsory",), False),  # the day before the summer vacation
        (D(2026, 7, 11), ("compulsory",), True),
        (D(2026, 2, 5), ("compulsory",), True),  # compulsory winter vacation
        (D(2026, 2, 5), ("senior",), False),  # senior winter vacation starts 2026-02-07
        (D(2026, 2, 5), ("compulsory", "senior"), True),
        (D(2026, 2, 5), (), False),  # no stage group: only holidays and weekends count
        (D(2026, 10, 1), ("compulsory",), True),  # a holiday is a holiday without vacation data
        (D(2026, 10, 17), ("compulsory",), True),  # so is an ordinary Saturday
        (D(2026, 10, 10), ("compulsory",), None),  # make-up Saturday: the vacation question is open
        (D(2026, 10, 10), (), False),  # …unless no vacation matters
        (D(2027, 1, 9), ("compulsory",), True),  # a 2027 Saturday: a rest day though 2027 is not loaded
        (D(2027, 1, 9), (), True),
        (D(2027, 1, 11), ("compulsory",), None),  # a 2027 Monday: 2027 holidays not published
        (D(2027, 1, 11), (), None),
        (D(2024, 12, 25), ("compulsory",), None),  # 2024 holidays not in the data
    ],
)
def test_rest_days(day: dt.date, groups: tuple[str, ...], rest: bool | None) -> None:
    reason = CAL.rest_day_reason(day, groups)
    if rest is None:
        assert reason is None
    elif rest:
        assert isinstance(reason, tuple) and reason[0] and reason[1]
    else:
        assert reason is False


def test_term_overlap_and_uncovered_days() -> None:
    hits, uncovered = CAL.term_overlaps(D(2026, 3, 2), D(2026, 7, 10), ("compulsory",))
    assert hits == [] and uncovered == frozenset()
    hits, uncovered = CAL.term_overlaps(D(2026, 3, 2), D(2026, 7, 11), ("compulsory", "senior"))
    assert [(name, group) for name, group, _ in hits] == [("summer", "compulsory"), ("summer", "senior")]
    hits, uncovered = CAL.term_overlaps(D(2026, 9, 1), D(2027, 1, 15), ("compulsory",))
    assert hits == [] and len(uncovered) == 137 and min(uncovered) == D(2026, 9, 1)


def test_shipped_make_up_days_are_weekend_days() -> None:
    assert all(d.isoweekday() >= 6 for d in CAL.makeup_workdays)
    assert not set(CAL.makeup_workdays) & set(CAL.holidays)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    for folder in ("parameters", "calendars"):
        shutil.copytree(DATA_DIR / folder, tmp_path / folder)
    return tmp_path


def test_adding_a_year_is_editing_yaml(data: Path) -> None:
    national = data / "calendars" / "national.yaml"
    national.write_text(
        national.read_text(encoding="utf-8")
        + textwrap.indent(
            textwrap.dedent("""
                2027:
                  citation: 国务院办公厅关于2027年部分节假日安排的通知（示例）
                  holidays:
                    - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
                  makeup_workdays: []
            """),
            "  ",
        ),
        encoding="utf-8",
    )
    guangzhou = data / "calendars" / "440100.yaml"
    guangzhou.write_text(
        guangzhou.read_text(encoding="utf-8")
        + textwrap.indent(
            textwrap.dedent("""
                "2026-27":
                  citation: 示例
                  compulsory:
                    winter: {from: 2027-01-23, to: 2027-02-21}
                    summer: {from: 2027-07-10, to: 2027-08-31}
            """),
            "  ",
        ),
        encoding="utf-8",
    )
    calendar = Engine.load("440106", data_dir=data).calendar
    assert calendar.rest_day_reason(D(2027, 1, 9), ("compulsory",))  # a Saturday, now known
    assert (
        calendar.rest_day_reason(D(2026, 10, 10), ("compulsory",)) is False
    )  # make-up Saturday, now covered
    assert calendar.rest_day_reason(D(2026, 10, 10), ("senior",)) is None  # senior 2026-27 still unknown
    assert Engine.load("440106", data_dir=data).parameter_set_hash != Engine.load("440106").parameter_set_hash


@pytest.mark.parametrize(
    ("file", "body", "expected"),
    [
        (
            "national",
            "level: national\nholiday_years:\n  2026:\n    citation: x\n    makeup_workdays: [2026-05-08]\n",
            "2026-05-08 is a weekday",
        ),
        (
            "national",
            "level: national\nholiday_years:\n  2026:\n    citation: x\n    holidays:\n"
            "      - {name: 元旦, from: 2026-01-03, to: 2026-01-01}\n",
            "ends 2026-01-01 before it starts",
        ),
        (
            "national",
            "level: national\nholiday_years:\n  2026:\n    citaton: x\n",
            "citaton: unknown field",
        ),
        (
            "440100",
            'level: "440100"\nschool_years:\n  "2025-26":\n    citation: x\n'
            "    compulsory: {winter: {from: 2025-01-31, to: 2025-03-01},\n"
            "                 summer: {from: 2026-07-11, to: 2026-08-31}}\n",
            "outside the school year",
        ),
        (
            "440100",
            'level: "440100"\nschool_years:\n  "2025-27":\n    citation: x\n',
            "expected a school year in quotes like '2025-26'",
        ),
        (
            "440100",
            'level: "440100"\nschool_years:\n  "2025-26":\n    citation: x\n    junior: {}\n',
            "junior: unknown field",
        ),
    ],
)
def test_calendar_errors(data: Path, file: str, body: str, expected: str) -> None:
    (data / "calendars" / f"{file}.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Engine.load("440106", data_dir=data)
    assert f"{file}.yaml" in str(info.value) and expected in str(info.value)


def _append(path: Path, text: str) -> None:
    path.write_text(
        path.read_text(encoding="utf-8") + textwrap.indent(textwrap.dedent(text), "  "), encoding="utf-8"
    )


def test_a_partial_school_year_answers_what_it_gives(data: Path) -> None:
    _append(
        data / "calendars" / "440100.yaml",
        """
        "2026-27":
          citation: 示例（只公布了义务教育阶段寒假）
          compulsory:
            winter: {from: 2027-01-23, to: 2027-02-21}
        """,
    )
    _append(
        data / "calendars" / "national.yaml",
        """
        2027:
          citation: 示例
          holidays:
            - {name: 元旦, from: 2027-01-01, to: 2027-01-01}
        """,
    )
    calendar = Engine.load("440106", data_dir=data).calendar
    comp = ("compulsory",)
    assert calendar.rest_day_reason(D(2027, 1, 25), comp)  # in the known winter vacation (a Monday)
    assert calendar.rest_day_reason(D(2026, 10, 10), comp) is False  # make-up Saturday before the winter
    assert calendar.rest_day_reason(D(2027, 3, 1), comp) is None  # after the winter: the summer is unknown
    assert calendar.rest_day_reason(D(2026, 11, 2), ("senior",)) is None  # senior not given at all
    hits, unknown = calendar.term_vacations(D(2026, 9, 1), D(2027, 1, 15), comp)
    assert hits == [] and unknown == []  # before the winter: the unknown summer cannot overlap
    hits, unknown = calendar.term_vacations(D(2027, 3, 1), D(2027, 7, 15), comp)
    assert hits == [] and unknown == [(2026, "compulsory", "summer")]
    coverage = Engine.load("440106", data_dir=data).calendar_coverage(D(2026, 11, 30))
    assert coverage.detail.covered_until is None  # the senior group's 2026-27 vacations are unknown


def test_a_school_year_group_must_give_a_vacation(data: Path) -> None:
    (data / "calendars" / "440100.yaml").write_text(
        'level: "440100"\nschool_years:\n  "2025-26":\n    citation: x\n    compulsory: {}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as info:
        Engine.load("440106", data_dir=data)
    assert "expected winter and/or summer" in str(info.value)


def test_winter_must_come_before_summer(data: Path) -> None:
    (data / "calendars" / "440100.yaml").write_text(
        'level: "440100"\nschool_years:\n  "2025-26":\n    citation: x\n'
        "    compulsory: {winter: {from: 2026-07-20, to: 2026-08-01},\n"
        "                 summer: {from: 2026-07-01, to: 2026-07-10}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as info:
        Engine.load("440106", data_dir=data)
    assert "winter vacation must end before the summer vacation starts" in str(info.value)


def test_coverage_of_the_shipped_data() -> None:
    engine = Engine.load("440106")
    detail = engine.calendar.coverage(D(2026, 5, 15))
    # 2025 and 2026 holidays, school years 2024-25 and 2025-26 for both groups: covered to 2026-08-31
    assert detail.covered_until == D(2026, 8, 31)
    assert detail.chain == ("national", "440000", "440100", "440106")
    assert [y["year"] for y in detail.holiday_years] == [2025, 2026]
    assert {(y["school_year"], y["group"], tuple(y["known"])) for y in detail.school_years} == {
        ("2024-25", "compulsory", ("winter", "summer")),
        ("2024-25", "senior", ("winter", "summer")),
        ("2025-26", "compulsory", ("winter", "summer")),
        ("2025-26", "senior", ("winter", "summer")),
    }
    assert [(m.kind, m.key, m.group) for m in detail.missing] == [
        ("school_year", "2026-27", "compulsory"),
        ("school_year", "2026-27", "senior"),
    ]
    assert detail.missing[0].first_day == D(2026, 9, 1)
    json.dumps(detail.to_dict(), ensure_ascii=False)
    assert engine.calendar.coverage(D(2024, 12, 31)).covered_until is None  # 2024 notice not loaded


@pytest.mark.parametrize(
    ("as_of", "days_left", "warn"),
    [
        (D(2026, 5, 15), 108, False),
        (D(2026, 7, 2), 60, False),  # 60 days left: no warning
        (D(2026, 7, 3), 59, True),  # 59 days left: warn
        (D(2026, 8, 31), 0, True),
        (D(2026, 9, 1), None, True),  # not covered at all
    ],
)
def test_engine_calendar_coverage(as_of: dt.date, days_left: int | None, warn: bool) -> None:
    check = Engine.load("440106").calendar_coverage(as_of)
    assert check.days_left == days_left and check.warn is warn and check.warning_days == 60
    assert check.covered_until == (D(2026, 8, 31) if days_left is not None else None)
    out = check.to_dict()
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out
    if warn:
        assert check.missing_zh and len(check.missing_zh) == len(check.missing_en)
        assert any(m == "2026-27学年义务教育阶段寒假、暑假日期尚未载入" for m in check.missing_zh)
        assert any("2026-27" in m and "compulsory-stage" in m for m in check.missing_en)
    if as_of == D(2026, 9, 1):
        assert "2027年国务院节假日安排（法定节假日与调休上班日）尚未载入" not in check.missing_zh


def test_coverage_warns_about_next_years_holiday_notice() -> None:
    check = Engine.load("440106").calendar_coverage(D(2026, 12, 1))
    assert check.covered_until is None and check.warn
    assert "2027年国务院节假日安排（法定节假日与调休上班日）尚未载入" in check.missing_zh
