"""PostgreSQL COPY text format (``COPY ... FROM STDIN``): the one encoder of fields, lines and arrays.

A field is tab-separated, a line ends with a newline, ``\\N`` is null; in text, backslash, tab and line
breaks are escaped with a backslash. Bulk writers build lines with these helpers, and they run for every
row of an import: each checks cheaply whether a value needs escaping before translating it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NULL = "\\N"

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """Free text as a COPY field (backslash, tab and line breaks escaped)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def copy_bool(value: bool) -> str:
    return "t" if value else "f"


def copy_field(value: Any) -> str:
    """One field of a COPY text line: ``\\N`` for null, ``t``/``f``, numbers, escaped text."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    return str(value)


def copy_line(*values: Any) -> str:
    """A COPY text line of values (see :func:`copy_field`), with its newline."""
    return "\t".join(map(copy_field, values)) + "\n"


def copy_json(data: bytes) -> str:
    """Compact JSON (no raw control characters) as a COPY field: only backslashes need doubling."""
    return data.decode().replace("\\", "\\\\")


def pg_array(items: Sequence[str]) -> str:
    """A PostgreSQL array literal (``{"a","b"}``) as a COPY field."""
    if not items:
        return "{}"
    body = '","'.join(items)
    if "\\" in body or '"' in body:
        body = '","'.join(i.replace("\\", "\\\\").replace('"', '\\"') for i in items)
    return '{"' + body + '"}'
