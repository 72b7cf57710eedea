"""The door's bounds on JSON and text: nesting, 64-bit integers, NUL and lone surrogates, each named where."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from supervision.core import inputs
from supervision.core.errors import Invalid, Problem


def refused(data: bytes | str) -> list[dict[str, str]]:
    with pytest.raises(Invalid) as caught:
        inputs.decode(data)
    assert caught.value.status == 422
    return [p.as_dict() for p in caught.value.problems]


def test_ordinary_json_passes_unchanged() -> None:
    doc = {"name": "示例", "n": [1, -(2**63), 2**63 - 1, 1.5, None, True], "deep": [[[{"a": "b"}]]]}
    assert (
        inputs.decode(
            b'{"name":"\xe7\xa4\xba\xe4\xbe\x8b","n":[1,-9223372036854775808,9223372036854775807,'
            b'1.5,null,true],"deep":[[[{"a":"b"}]]]}'
        )
        == doc
    )
    assert inputs.decode(b'{"text": "a backslash then u0000: \\\\u0000"}') == {
        "text": "a backslash then u0000: \\u0000"
    }


def test_a_nul_is_refused_where_it_is() -> None:
    assert refused(b'{"name": "a\\u0000b", "courses": [{"title": "ok"}, {"title": "\\u0000"}]}') == [
        {"loc": "courses[1].title", "msg": inputs.NUL},
        {"loc": "name", "msg": inputs.NUL},
    ]
    assert refused(b'{"a\\u0000": 1}') == [{"loc": "$", "msg": f"a key {inputs.NUL}"}]


def test_integers_beyond_64_bits_are_refused() -> None:
    assert refused(b'{"statements": [{"lines": [{"amount_fen": 18446744073709551616}]}]}') == [
        {"loc": "statements[0].lines[0].amount_fen", "msg": inputs.OUT_OF_RANGE}
    ]
    assert refused(b"[-9223372036854775809]") == [{"loc": "[0]", "msg": inputs.OUT_OF_RANGE}]
    assert refused(b"1" * 5000)  # longer than any integer


def test_nesting_is_bounded() -> None:
    ok = b"[" * inputs.MAX_DEPTH + b"]" * inputs.MAX_DEPTH
    assert inputs.decode(ok)
    [problem] = refused(b"[" * (inputs.MAX_DEPTH + 1) + b"]" * (inputs.MAX_DEPTH + 1))
    assert problem["msg"] == inputs.TOO_DEEP
    # Far deeper than the decoder recurses: refused all the same, not a crash.
    assert refused(b"[" * 100_000 + b"]" * 100_000) == [{"loc": "$", "msg": inputs.TOO_DEEP}]
    assert refused(b'{"a":' * 300 + b"1" + b"}" * 300)


def test_lone_surrogates_infinities_and_broken_json_are_refused() -> None:
    assert refused(b'{"name": "\\ud800"}')
    assert refused('{"name": "\ud800"}')
    assert refused(b"[1e400]")
    assert refused(b"[NaN]")
    assert refused(b'{"a": ')
    assert refused(b"\xff\xfe")


def test_problems_of_decoded_values_check_text_too() -> None:
    assert inputs.problems({"a": ["x", "y\ud800"]}) == [Problem("a[1]", inputs.SURROGATE)]
    assert inputs.problems({"a": float("inf")}) == [Problem("a", inputs.NOT_FINITE)]
    assert inputs.problems({"a": 2**64}, "doc") == [Problem("doc.a", inputs.OUT_OF_RANGE)]


def test_clean_text_fields_name_the_field() -> None:
    class Form(BaseModel):
        name: Annotated[str, inputs.Clean]
        title: inputs.Text(5)  # type: ignore[valid-type]

    assert Form(name="示例", title="abc").name == "示例"
    with pytest.raises(ValidationError) as caught:
        Form(name="a\x00", title="toolong")
    errors = {e["loc"][0]: e["msg"] for e in caught.value.errors()}
    assert errors["name"].endswith(inputs.NUL)
    assert "at most 5" in errors["title"]
