"""Parameter files: load errors name the file and key; effective dating; overlays; the parameter-set hash."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from rules import DataFileError, Engine
from rules.engine import DATA_DIR


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A private copy of the shipped parameters and calendars to edit."""
    for folder in ("parameters", "calendars"):
        shutil.copytree(DATA_DIR / folder, tmp_path / folder)
    return tmp_path


def write(data: Path, code: str, body: str) -> Path:
    path = data / "parameters" / f"{code}.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def load_error(data: Path, jurisdiction: str = "440106") -> str:
    with pytest.raises(DataFileError) as info:
        Engine.load(jurisdiction, data_dir=data)
    return str(info.value)


# --- load errors ----------------------------------------------------------------------------------------


def test_shipped_files_load() -> None:
    for code in ("national", "440000", "440100", "440106"):
        assert Engine.load(code).jurisdiction.code == code


def test_misspelt_parameter_name(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.ofline_latest_end:
            - {value: "20:00", effective_from: 2026-01-01, citation: x}
    """,
    )
    message = load_error(data)
    assert "440106.yaml" in message and "time.ofline_latest_end" in message and "unknown parameter" in message


def test_parameter_outside_the_parameters_section(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        time.offline_latest_end:
          - {value: "20:00", effective_from: 2026-01-01, citation: x}
    """,
    )
    message = load_error(data)
    assert (
        "440106.yaml" in message and "time.offline_latest_end" in message and "under 'parameters:'" in message
    )


def test_period_fields_at_the_wrong_depth(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end: {value: "20:00", effective_from: 2026-01-01, citation: x}
    """,
    )
    assert "time.offline_latest_end: expected a list of periods" in load_error(data)


def test_misspelt_period_field(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_form: 2026-01-01, citation: x}
    """,
    )
    message = load_error(data)
    assert "time.offline_latest_end[0]: effective_form: unknown field" in message
    assert "effective_from: missing" in message


def test_parameter_at_a_level_that_may_not_set_it(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          price.base_fen:
            - value: {online: [{max_class_size: null, base_fen: 1500}]}
              effective_from: 2026-01-01
              citation: x
          ban.effective_from:
            - {value: 2021-08-01, effective_from: 2021-08-01, citation: x}
    """,
    )
    message = load_error(data)
    assert "price.base_fen: may not be set at district level" in message
    assert "ban.effective_from: may not be set at district level" in message


def test_overlapping_periods(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-01-01, effective_to: 2026-06-30, citation: x}
            - {value: "20:15", effective_from: 2026-06-30, citation: y}
    """,
    )
    message = load_error(data)
    assert "440106.yaml" in message and "time.offline_latest_end: periods overlap" in message


def test_open_period_followed_by_another_overlaps(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-01-01, citation: x}
            - {value: "20:15", effective_from: 2027-01-01, citation: y}
    """,
    )
    assert "periods overlap" in load_error(data)


def test_adjacent_periods_do_not_overlap(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-01-01, effective_to: 2026-06-30, citation: x}
            - {value: "20:15", effective_from: 2026-07-01, citation: y}
    """,
    )
    engine = Engine.load("440106", data_dir=data)
    assert engine.at(dt.date(2026, 6, 30)).values["time.offline_latest_end"] == "20:00"
    assert engine.at(dt.date(2026, 7, 1)).values["time.offline_latest_end"] == "20:15"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("time.offline_latest_end", "20:30", "in quotes like '20:30'"),  # unquoted: YAML reads 1230
        ("time.offline_latest_end", '"8:30pm"', "expected a time 'HH:MM'"),
        ("prepay.max_lessons", "true", "expected a whole number"),
        ("prepay.max_lessons", "0", "expected a whole number from 1 up"),
        ("prepay.max_fen", '"500000"', "expected a whole number"),
        ("premises.min_m2_per_student", "3.5", "binary float"),
        ("ban.preschool_all_categories", "yes please", "expected true or false"),
        ("restday.stages", "[primary, middle]", "unknown stage 'middle'"),
        ("statement.due_day", "32", "from 1 to 31"),
        ("escrow.coverage_pct", "[100]", "expected a whole number"),
    ],
)
def test_wrong_type(data: Path, key: str, value: str, expected: str) -> None:
    write(
        data,
        "440106",
        f"""
        level: "440106"
        parameters:
          {key}:
            - value: {value}
              effective_from: 2026-01-01
              citation: x
    """,
    )
    message = load_error(data)
    assert f"{key}[0]: value:" in message and expected in message


def test_price_table_errors(data: Path) -> None:
    write(
        data,
        "440100",
        """
        level: "440100"
        parameters:
          price.base_fen:
            - value:
                offline: [{max_class_size: 10, base_fen: 7000}, {max_class_size: 5, base_fen: 5000}]
              effective_from: 2026-01-01
              citation: x
    """,
    )
    assert "must grow from band to band" in load_error(data)
    write(
        data,
        "440100",
        """
        level: "440100"
        parameters:
          price.base_fen:
            - value: {offline: [{max_class_size: 10, base_fen: 7000}]}
              effective_from: 2026-01-01
              citation: x
    """,
    )
    assert "the last band must be open" in load_error(data)
    write(
        data,
        "440100",
        """
        level: "440100"
        parameters:
          price.base_fen:
            - value: {ofline: [{max_class_size: null, base_fen: 7000}]}
              effective_from: 2026-01-01
              citation: x
    """,
    )
    assert "unknown mode 'ofline'" in load_error(data)


def test_effective_to_before_effective_from(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-06-01, effective_to: 2026-05-31, citation: x}
    """,
    )
    assert "effective_to 2026-05-31 is before effective_from 2026-06-01" in load_error(data)


def test_missing_citation(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-06-01, citation: "  "}
    """,
    )
    assert "citation: expected the text of the legal basis" in load_error(data)


def test_repeated_key_is_an_error(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-01-01, citation: x}
          time.offline_latest_end:
            - {value: "21:00", effective_from: 2026-01-01, citation: x}
    """,
    )
    message = load_error(data)
    assert "440106.yaml" in message and "appears twice" in message


def test_level_must_match_the_file(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440100"
        parameters: {}
    """,
    )
    assert "says '440100' but the file is for '440106'" in load_error(data)


def test_every_problem_is_reported_at_once(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.ofline_latest_end:
            - {value: "20:00", effective_from: 2026-01-01, citation: x}
          prepay.max_lessons:
            - {value: many, effective_from: 2026-01-01, citation: x}
    """,
    )
    write(
        data,
        "440100",
        """
        level: "440100"
        parameters:
          statement.due_dya:
            - {value: 10, effective_from: 2026-01-01, citation: x}
    """,
    )
    with pytest.raises(DataFileError) as info:
        Engine.load("440106", data_dir=data)
    problems = info.value.problems
    assert len(problems) == 3
    assert any("time.ofline_latest_end" in p for p in problems)
    assert any("prepay.max_lessons" in p for p in problems)
    assert any("440100.yaml" in p and "statement.due_dya" in p for p in problems)


def test_unknown_jurisdiction() -> None:
    with pytest.raises(DataFileError, match="unknown jurisdiction '999999'"):
        Engine.load("999999")


# --- effective dating and levels ------------------------------------------------------------------------


def test_value_changes_on_its_effective_date(data: Path) -> None:
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          time.offline_latest_end:
            - {value: "20:00", effective_from: 2026-06-01, citation: 天河区试行}
    """,
    )
    engine = Engine.load("440106", data_dir=data)
    before = engine.at(dt.date(2026, 5, 31)).parameter("time.offline_latest_end")
    after = engine.at(dt.date(2026, 6, 1)).parameter("time.offline_latest_end")
    assert before is not None and after is not None
    assert (before.value, before.level, before.effective_from) == ("20:30", "national", dt.date(2018, 8, 22))
    assert (after.value, after.level, after.citation) == ("20:00", "440106", "天河区试行")


def test_most_specific_level_wins(data: Path) -> None:
    write(
        data,
        "440100",
        """
        level: "440100"
        parameters:
          online.min_break_minutes:
            - {value: 15, effective_from: 2025-01-01, citation: city}
    """,
    )
    write(
        data,
        "440106",
        """
        level: "440106"
        parameters:
          online.min_break_minutes:
            - {value: 20, effective_from: 2026-01-01, citation: district}
    """,
    )
    day = dt.date(2026, 3, 1)
    assert Engine.load("440106", data_dir=data).at(day).values["online.min_break_minutes"] == 20
    assert Engine.load("440100", data_dir=data).at(day).values["online.min_break_minutes"] == 15
    assert Engine.load("440000", data_dir=data).at(day).values["online.min_break_minutes"] == 10
    # before the district's period starts, the city's value is the one in force
    assert (
        Engine.load("440106", data_dir=data).at(dt.date(2025, 6, 1)).values["online.min_break_minutes"] == 15
    )


def test_parameter_not_in_force_before_any_period() -> None:
    ctx = Engine.load("440106").at(dt.date(2020, 1, 1))
    assert ctx.parameter("prepay.max_fen") is None
    assert ctx.parameter("premises.min_m2_per_student") is not None
    assert "FEE-PRICE-CAP" not in {r.id for r in ctx.active}


def test_values_have_their_types() -> None:
    values = Engine.load("440106").at(dt.date(2026, 11, 30)).values
    assert values["premises.min_m2_per_student"] == Decimal(3)
    assert values["ban.effective_from"] == dt.date(2021, 7, 24)
    assert values["restday.stages"] == ("primary", "junior", "senior")
    assert values["price.base_fen"]["offline"] == ((10, 7000), (20, 5000), (30, 4000), (None, 3500))
    assert values["price.base_fen"]["online"] == ((None, 2000),)
    assert values["escrow.coverage_pct"] == 100 and values["statement.due_day"] == 10


# --- candidate overlays -----------------------------------------------------------------------------------


def test_candidate_overlay_file(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        textwrap.dedent("""
            level: "440106"
            parameters:
              time.online_latest_end:
                - {value: "20:30", effective_from: 2026-09-01, citation: 天河区候选规则}
        """),
        encoding="utf-8",
    )
    base = Engine.load("440106")
    dry = Engine.load("440106", overlays=[candidate])
    day = dt.date(2026, 11, 30)
    assert base.at(day).values["time.online_latest_end"] == "21:00"
    resolved = dry.at(day).parameter("time.online_latest_end")
    assert resolved is not None and (resolved.value, resolved.level) == ("20:30", "440106")
    assert dry.at(day).values["time.offline_latest_end"] == "20:30"  # the rest is untouched
    assert base.parameter_set_hash != dry.parameter_set_hash
    assert Engine.load("440106").parameter_set_hash == base.parameter_set_hash  # files unchanged


def test_overlay_replaces_a_levels_periods_for_the_keys_it_names() -> None:
    overlay = {
        "level": "440100",
        "parameters": {
            "price.base_fen": [
                {
                    "value": {"offline": [{"max_class_size": None, "base_fen": 6000}]},
                    "effective_from": "2026-01-01",
                    "citation": "candidate",
                }
            ]
        },
    }
    engine = Engine.load("440106", overlays=[overlay])
    assert engine.at(dt.date(2026, 3, 1)).values["price.base_fen"] == {"offline": ((None, 6000),)}
    # the city's old table is replaced, not kept alongside: before 2026 no table is in force
    assert engine.at(dt.date(2025, 3, 1)).parameter("price.base_fen") is None
    assert engine.at(dt.date(2026, 3, 1)).values["escrow.coverage_pct"] == 100


def test_overlay_errors_are_load_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('level: "440106"\nparameters:\n  time.online_latest_ends: []\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad\.yaml: time\.online_latest_ends: unknown parameter"):
        Engine.load("440106", overlays=[bad])
    with pytest.raises(DataFileError, match="'440106' is not in the chain"):
        Engine.load("440100", overlays=[{"level": "440106", "parameters": {}}])


# --- the parameter-set hash -------------------------------------------------------------------------------


def test_hash_is_stable_and_ignores_formatting(data: Path) -> None:
    first = Engine.load("440106", data_dir=data).parameter_set_hash
    assert first == Engine.load("440106", data_dir=data).parameter_set_hash
    assert len(first) == 64 and int(first, 16) >= 0
    path = data / "parameters" / "440100.yaml"
    text = path.read_text(encoding="utf-8")
    block = "    - value: 100\n      effective_from: 2021-11-19\n      citation: 穗教规字〔2021〕8号\n"
    assert block in text
    flow = "    - {citation: 穗教规字〔2021〕8号, effective_from: '2021-11-19', value: 100}  # reordered\n"
    path.write_text("# a comment added by an officer\n" + text.replace(block, flow), "utf-8")
    write(data, "440106", 'level: "440106"\nparameters:\n')
    assert Engine.load("440106", data_dir=data).parameter_set_hash == first


def test_hash_changes_with_content(data: Path) -> None:
    first = Engine.load("440106", data_dir=data).parameter_set_hash
    path = data / "parameters" / "440100.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("穗教规字〔2021〕8号", "穗教规字〔2021〕9号"), "utf-8"
    )
    assert Engine.load("440106", data_dir=data).parameter_set_hash != first


def test_hash_covers_the_chain_only() -> None:
    assert Engine.load("440106").parameter_set_hash != Engine.load("440100").parameter_set_hash
