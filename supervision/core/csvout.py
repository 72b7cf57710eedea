"""CSV as the service writes it for people (案件、举报、检查的导出): UTF-8 with a BOM, so that Excel on a
Chinese Windows opens it, and every cell that a spreadsheet would take for a formula (one starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) neutralised by a leading apostrophe (OWASP's advice
against CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a safe cell: None is empty, lists are joined with ``|``."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "|".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV document with its header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
