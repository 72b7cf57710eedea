"""Untrusted input at the door (入口校验): JSON decoded within bounds, and text that PostgreSQL can store.

Every JSON body the service reads is held to the same bounds before any of it is used: nesting at most
:data:`MAX_DEPTH` levels deep, integers within signed 64 bits (what PostgreSQL's ``bigint`` and the JSON
encoder hold), finite numbers only, and strings (keys too) free of NUL characters and lone surrogates
(PostgreSQL ``text`` cannot store NUL; UTF-8 cannot encode a lone surrogate). A body outside them is refused
with a 422 naming where (``courses[0].title``), never carried on to fail in the database or the encoder.

Domain-free: the web layer applies it to every JSON body (:mod:`supervision.web.security`), the registry to
every document it validates (imports too), the pydantic schemas to every string field (:data:`Clean`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import msgspec
from pydantic import AfterValidator, Field

from supervision.core.errors import Invalid, Problem

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects a JSON body may have (an institution document needs 5)."""
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_ID = 2**53 - 1
"""The largest row id an input may name: what a JSON number holds exactly everywhere (JavaScript, and the
schema validators that compare as floating point), far beyond any id the database hands out."""
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_PROBLEMS = 20
"""A body with more problems than this is refused listing only the first ones."""

NUL = "must not contain NUL characters (\\u0000)"
SURROGATE = "must not contain lone surrogates (text that is not valid Unicode)"
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
OUT_OF_RANGE = "integer out of range: at most 64 bits (-9223372036854775808 to 9223372036854775807)"
NOT_FINITE = "numbers must be finite"

_decoder = msgspec.json.Decoder()


def text_problem(value: str) -> str | None:
    """What is wrong with ``value`` as stored text: a NUL character or a lone surrogate; else None."""
    if "\x00" in value:
        return NUL
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE
    return None


def clean_text(value: str) -> str:
    """A pydantic validator: ``value`` unchanged, or a :class:`ValueError` naming what is wrong."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Clean = AfterValidator(clean_text)
"""Put in the ``Annotated`` of a ``str`` field: refuses NUL and lone surrogates with the field's path."""


def Text(max_length: int, min_length: int = 0) -> Any:
    """A string field of at most ``max_length`` characters that PostgreSQL can store."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), Clean]


EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)
Day = Annotated[dt.date, Field(ge=EARLIEST, le=LATEST)]
"""A date given as input: from 1900 to 2100, so that arithmetic on it never leaves the calendar."""


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def problems(value: Any, loc: str = "", *, max_depth: int = MAX_DEPTH, text: bool = True) -> list[Problem]:
    """What keeps a decoded JSON value (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``)
    out of bounds, each with its path from ``loc`` (``$`` for the whole). At most :data:`MAX_PROBLEMS`.
    ``text=False`` leaves strings unchecked (the caller knows there is nothing to find in them)."""
    found: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(value, loc, 1)]
    while stack and len(found) < MAX_PROBLEMS:
        item, path, depth = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if depth > max_depth:
                found.append(Problem(path or "$", TOO_DEEP))
                continue
            if kind is dict:
                for key, child in item.items():
                    where = _at(path, key)
                    if text and type(key) is str and (problem := text_problem(key)):
                        found.append(Problem(path or "$", f"a key {problem}"))
                    stack.append((child, where, depth + 1))
            else:
                stack.extend((child, _at(path, i), depth + 1) for i, child in enumerate(item))
        elif kind is str:
            if text and (problem := text_problem(item)):
                found.append(Problem(path or "$", problem))
        elif kind is int:
            if not INT_MIN <= item <= INT_MAX:
                found.append(Problem(path or "$", OUT_OF_RANGE))
        elif kind is float and not math.isfinite(item):
            found.append(Problem(path or "$", NOT_FINITE))
    found.sort(key=lambda p: p.loc)
    return found


def check(value: Any, loc: str = "", what: str = "the body") -> None:
    """Raise :class:`Invalid` unless the decoded ``value`` is within the bounds."""
    found = problems(value, loc)
    if found:
        raise Invalid(f"{what} is outside what the service accepts", found)


def decode(data: bytes | str, what: str = "the body") -> Any:
    """The JSON ``data`` decoded and held to the bounds; :class:`Invalid` (422) if it is not JSON or not
    within them. Bytes must be UTF-8."""
    try:
        value = _decoder.decode(data)
    except RecursionError:
        raise Invalid(f"{what} is outside what the service accepts", [Problem("$", TOO_DEEP)]) from None
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError) as exc:
        raise Invalid(f"{what} is not valid JSON", [Problem("$", str(exc))]) from None
    # The decoder refuses lone surrogates; a NUL can only have come from the escape ``\u0000``.
    nul = b"\\u0000" in data if isinstance(data, bytes) else "\\u0000" in data
    found = problems(value, text=nul)
    if found:
        raise Invalid(f"{what} is outside what the service accepts", found)
    return value


__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_DEPTH",
    "Clean",
    "Day",
    "Text",
    "check",
    "clean_text",
    "decode",
    "problems",
    "text_problem",
]
