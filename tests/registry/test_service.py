"""Validation at the door lists every problem of a document at once, the checks across fields included."""

from __future__ import annotations

import pytest

from supervision.core.errors import Invalid, Problem
from supervision.registry.service import validate
from tests.conftest import example_document


def _problems(raw: dict) -> list[Problem]:  # type: ignore[type-arg]
    with pytest.raises(Invalid) as err:
        validate(raw)
    return err.value.problems


def test_cross_field_problems_are_listed_beside_field_problems() -> None:
    doc = example_document(colour="red")
    doc["premises"].append(dict(doc["premises"][0]))  # the same premises code twice
    course = doc["courses"][0]
    course["lesson_minutes"] = "45"  # a wrong type in the course ...
    course["subject"] = "math"
    course["category"] = "non_subject"  # ... which also contradicts its category
    course["teacher_codes"] = ["T1", "T9"]
    problems = {(p.loc, p.msg) for p in _problems(doc)}
    assert ("colour", "Extra inputs are not permitted") in problems
    assert ("courses[0].lesson_minutes", "Input should be a valid integer") in problems
    assert ("courses[0]", "subject 'math' is a subject discipline but category is 'non_subject'") in problems
    assert (
        "$",
        "premises codes must be unique within the institution: P1; "
        "courses[0].teacher_codes names unknown teachers: T9",
    ) in problems
    assert len(problems) == 4


def test_a_problem_the_schema_found_is_not_repeated() -> None:
    only_codes = example_document()
    only_codes["teachers"].append(dict(only_codes["teachers"][0]))
    assert [(p.loc, p.msg) for p in _problems(only_codes)] == [
        ("$", "teacher codes must be unique within the institution: T1")
    ]
    # The course's own check ran (its fields are valid) while another field failed: reported once.
    doc = example_document(nature="state_owned")
    doc["courses"][0]["category"] = "non_subject"
    problems = [(p.loc, p.msg) for p in _problems(doc)]
    assert (
        problems.count(("courses[0]", "subject 'math' is a subject discipline but category is 'non_subject'"))
        == 1
    )
    assert len(problems) == 2


def test_parts_of_the_wrong_shape_do_not_break_the_checks() -> None:
    doc = example_document()
    doc["premises"] = [doc["premises"][0], "P1", {"code": 7}]
    doc["courses"] = [None, {"code": "C1", "teacher_codes": "T1", "prepaid_packages": [1]}, *doc["courses"]]
    problems = _problems(doc)
    assert {p.loc for p in problems} >= {"premises[1]", "premises[2].code", "courses[0]", "courses[1].title"}
    assert ("$", "course codes must be unique within the institution: C1") in {
        (p.loc, p.msg) for p in problems
    }


def test_an_invalid_value_is_not_also_reported_as_contradicting_another() -> None:
    doc = example_document()
    doc["courses"][0]["category"] = "tutoring"
    problems = [(p.loc, p.msg) for p in _problems(doc)]
    assert [loc for loc, _ in problems] == ["courses[0].category"]


def test_a_grid_outside_the_jurisdiction_is_refused_with_the_other_problems() -> None:
    from supervision.core.errors import Invalid
    from supervision.registry import service as registry_service
    from tests.conftest import example_document

    doc = example_document(grid="火星")
    with pytest.raises(Invalid) as err:
        registry_service.validate(doc)
    expected = [("grid", "火星 is not a grid of this jurisdiction")]
    assert [(p.loc, p.msg) for p in err.value.problems] == expected
    doc["nature"] = "charity"
    with pytest.raises(Invalid) as err:
        registry_service.validate(doc)
    assert {p.loc for p in err.value.problems} == {"grid", "nature"}
    registry_service.validate(example_document(grid="天河南"))
