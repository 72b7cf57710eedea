"""CSV for people to open (公开数据与导出): one writer for every CSV the service serves, spreadsheet-safe.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula (CSV injection: ``=HYPERLINK(…)`` in an institution's name would run in an
officer's spreadsheet). :func:`safe_cell` prefixes such a cell with a single quote, which spreadsheets show
as text and do not display; numbers are left as they are. Every CSV download (the open-data list editions,
the console's exports) goes through :func:`writer` or :func:`rows_bytes`.

The registry's CSV export (``supervision export folder/``) is not written with it: it is a data interchange
format read back by ``supervision import``, which must get every value exactly as it was, so it stays exact
(and is a file an administrator writes on the server, not a download).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a text cell that a spreadsheet would take for a formula made plain text."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


class SafeWriter:
    """A :func:`csv.writer` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, out: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **kwargs: Any) -> SafeWriter:
    """A CSV writer on ``out`` (a text stream) that neutralises formula cells; ``kwargs`` as csv.writer."""
    return SafeWriter(out, **kwargs)


def rows_bytes(header: Iterable[str], rows: Iterable[Iterable[Any]], *, bom: bool = True) -> bytes:
    """A whole CSV download: UTF-8 (with a BOM, so Excel on Chinese Windows opens it), CRLF line ends."""
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    w = writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def cell(value: Any) -> str:
    """A value as a safe text cell of the console's exports: None is empty, lists are joined with ``|``."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "|".join(str(v) for v in value)
    return str(safe_cell(str(value)))


def to_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A console export: :func:`rows_bytes` of the rows' values as :func:`cell` writes them."""
    return rows_bytes(header, ([cell(v) for v in row] for row in rows))
