"""The fast first check (msgspec) never accepts what the institution schema (pydantic) refuses, and accepts
the clean documents an import is made of, so that the fast path is the common one."""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any, get_type_hints

import msgspec
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

from supervision.demo import registry as demo
from supervision.registry import fastcheck
from supervision.registry.schemas import LICENCE_PATTERN, InstitutionDoc
from supervision.registry.service import canonical
from tests.conftest import example_document

SCHEMA = InstitutionDoc.__pydantic_validator__


def schema_accepts(data: bytes) -> bool:
    try:
        SCHEMA.validate_json(data)
    except ValidationError:
        return False
    return True


def test_the_demo_registry_takes_the_fast_path() -> None:
    docs = list(demo.generate(2000))
    for doc in docs:
        data = canonical(doc)
        assert fastcheck.passes(data), doc["uscc"]
        assert schema_accepts(data), doc["uscc"]


# Values that sit on an edge of some field's rules, or on a difference between the two libraries (a final
# newline, non-ASCII digits, floats for integers, booleans for numbers, dates that do not exist).
TRICKY: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    7,
    8,
    600,
    601,
    100_000,
    100_001,
    10**15,
    10**15 + 1,
    1.0,
    1.5,
    "",
    " ",
    "x" * 50,
    "x" * 51,
    "x" * 100,
    "x" * 101,
    "x" * 200,
    "x" * 201,
    "x" * 32,
    "x" * 33,
    "P1",
    "T1",
    "T9",
    "C1",
    "K1",
    "a b",
    "12:30",
    "12:30\n",
    "24:00",
    "08:00",
    "23:59",
    "١٢:٣٠",
    "2026-02-28",
    "2026-02-29",
    "2024-02-29",
    "2026-1-1",
    "2026-01-01T00:00:00",
    "2026-01-01\n",
    "20260101",
    "0",
    "0.0",
    "320.5",
    "1.12345",
    "1e3",
    "٣٢٠",
    "1234",
    "1234\n",
    "１２３４",
    "教民1440106\u3000号",
    "教民1440106\u0085号",
    "教民1440106号\n",
    "subject",
    "non_subject",
    "math",
    "arts",
    "primary",
    "online",
    "valid",
    "revoked",
    "bank_custody",
    "operating",
    "for_profit",
    "91440106MA59C8QX2X",
    "91440106MA59C8QX2x",
    [],
    ["primary"],
    ["T1", "T1"],
    ["x"],
    {},
    {"a": 1},
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _base() -> dict[str, Any]:
    doc = example_document()
    doc["uscc"] = "91440106MA59C8QX2X"
    return doc


BASE = _base()
PATHS = [p for p in _paths(BASE) if p]


def _change(doc: dict[str, Any], path: tuple[Any, ...], action: str, value: Any = None) -> bool:
    """Change ``doc`` in place at ``path``: ``set`` it to ``value``, ``delete`` it, ``add`` an unknown
    neighbour (in an object) or ``duplicate`` it (in a list). False when the change does not apply there
    (an earlier change removed the path, or the action does not fit the parent)."""
    parent: Any = doc
    try:
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if action == "set":
            parent[key] = copy.deepcopy(value)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent["unexpected"] = 1
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            return False
    except (KeyError, IndexError, TypeError):
        return False
    return True


ACTIONS = ["set", "set", "set", "delete", "add", "duplicate"]


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        _change(
            doc, draw(st.sampled_from(PATHS)), draw(st.sampled_from(ACTIONS)), draw(st.sampled_from(TRICKY))
        )
    return doc


def _single_mutations() -> list[dict[str, Any]]:
    """The base document with one change: every field set to every tricky value, deleted, or given an
    unknown neighbour, and every list item duplicated."""
    out = []
    for path in PATHS:
        changes = [("set", v) for v in TRICKY] + [("delete", None), ("add", None), ("duplicate", None)]
        for action, value in changes:
            doc = copy.deepcopy(BASE)
            if _change(doc, path, action, value):
                out.append(doc)
    return out


def test_no_single_change_is_accepted_by_the_fast_check_alone() -> None:
    docs = _single_mutations()
    accepted = [d for d in docs if fastcheck.passes(canonical(d))]
    assert [d for d in accepted if not schema_accepts(canonical(d))] == []
    # The changes include valid ones (a time, a date, a number within bounds): both take those.
    assert len(docs) > 5000 and len(accepted) > 100


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_what_the_fast_check_accepts_after_several_changes_the_schema_accepts(doc: dict[str, Any]) -> None:
    data = canonical(doc)
    if fastcheck.passes(data):
        assert schema_accepts(data)


def test_both_accept_the_unmutated_base_and_refuse_a_final_newline() -> None:
    data = canonical(BASE)
    assert fastcheck.passes(data) and schema_accepts(data)
    doc = copy.deepcopy(BASE)
    doc["courses"][0]["weekly_slots"][0]["start"] += "\n"
    data = canonical(doc)
    assert not fastcheck.passes(data)
    assert not schema_accepts(data)


def test_no_character_is_a_non_space_to_the_fast_check_and_a_space_to_the_schema() -> None:
    """The licence number is ``\\S{3,64}`` in both, read by Python's ``re`` in one and Rust's ``regex`` in
    the other: whatever the fast check takes for a non-space, the schema must too. Every code point."""
    fast = msgspec.json.Decoder(get_type_hints(fastcheck.Licence, include_extras=True)["number"])
    schema = TypeAdapter(Annotated[str, Field(strict=True, pattern=LICENCE_PATTERN)])
    disagree = []
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        data = orjson.dumps(chr(cp) * 3)
        try:
            fast.decode(data)
        except msgspec.ValidationError:
            continue
        try:
            schema.validate_json(data)
        except ValidationError:
            disagree.append(hex(cp))
    assert disagree == []
