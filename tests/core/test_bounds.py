"""Bounds that keep one request from costing the process: the rule engine's per-date memo, dates at the
calendar's ends, the input date windows; and the CSV cells a spreadsheet would run."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from rules.engine import Engine, Memo
from supervision.core import csvout
from supervision.core.clock import check_within, years_after
from supervision.core.errors import Invalid
from tests.conftest import TODAY, example_document


def test_the_memo_keeps_within_its_budget() -> None:
    memo = Memo(budget=10)
    for i in range(25):
        memo.put(i, i)
        assert memo.spent <= 10
    assert memo.get(24) == 24 and memo.get(0) is None
    memo.put("big", frozenset(range(50)), weight=51)  # more than the whole budget: not kept
    assert memo.get("big") is None and memo.spent <= 10
    memo["x"] = 1
    assert memo.get("x") == 1


def test_terms_seen_by_a_context_do_not_grow_its_memo_without_bound() -> None:
    """A context lives as long as the process: every term it evaluates must not stay in it forever."""
    ctx = Engine.load("440106").at(TODAY)
    doc = example_document()
    course = doc["courses"][0]
    start = dt.date(2030, 9, 1)  # school years the calendar does not cover: every day is an uncovered date
    for i in range(120):
        course["term"] = {
            "start": (start + dt.timedelta(days=i)).isoformat(),
            "end": (start + dt.timedelta(days=i + 700)).isoformat(),
        }
        result = ctx.evaluate(doc)
        assert result.uncovered_dates
        assert ctx.cache.spent <= ctx.cache.budget


def test_terms_at_the_ends_of_the_calendar_are_not_a_crash() -> None:
    calendar = Engine.load("440106").calendar
    for start, end in ((dt.date(1, 1, 5), dt.date(1, 12, 1)), (dt.date(9999, 1, 5), dt.date(9999, 12, 31))):
        _, uncovered = calendar.term_overlaps(start, end, ("compulsory", "senior"))
        assert uncovered and min(uncovered) >= start and max(uncovered) <= end


def test_date_windows() -> None:
    assert years_after(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert years_after(dt.date(2026, 11, 30), -10) == dt.date(2016, 11, 30)
    assert years_after(dt.date(9990, 1, 1), 20) == dt.date(9999, 1, 1)
    assert check_within(TODAY, TODAY, TODAY, "as_of") == TODAY
    with pytest.raises(Invalid) as caught:
        check_within(dt.date(2099, 1, 1), TODAY, TODAY + dt.timedelta(days=7), "as_of")
    assert [p.loc for p in caught.value.problems] == ["as_of"]


def test_csv_cells_that_a_spreadsheet_would_run_are_made_text() -> None:
    data = csvout.rows_bytes(
        ("name", "address", "n"),
        [
            ('=HYPERLINK("http://x")', "+86 20 1234", -5),
            ("-1+2", "@SUM(A1)", 3),
            ("\tcalc", "\rcmd", 0),
            ("示例培训中心", "天河路1号", 1),
        ],
    )
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[1:] == [
        ['\'=HYPERLINK("http://x")', "'+86 20 1234", "-5"],
        ["'-1+2", "'@SUM(A1)", "3"],
        ["'\tcalc", "'\rcmd", "0"],
        ["示例培训中心", "天河路1号", "1"],
    ]
