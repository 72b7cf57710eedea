"""A statement's own checks: every problem listed at once, with its field or its CSV file, line and column."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from supervision.core.errors import Invalid
from supervision.escrow.validation import parse_csv, parse_json
from tests.escrow.helpers import line, statement, summary_form, to_csv

TODAY = dt.date(2026, 11, 30)


def problems_of(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return {p.loc: p.msg for p in exc.value.problems}


def test_a_valid_json_statement_parses_to_its_lines_and_totals() -> None:
    doc = statement("2026-10", 1200000)
    parsed = parse_json(json.dumps(doc).encode(), TODAY)
    assert parsed.summary.period == "2026-10"
    assert parsed.summary.closing_balance_fen == 1200000 + 140000 - 50000 - 20000
    assert [ln[1] for ln in parsed.lines] == ["receipt", "refund", "release"]
    assert parsed.line_dicts()[0] == doc["lines"][0]
    assert parsed.source == "json"


def test_every_problem_of_a_json_statement_is_listed() -> None:
    doc = statement(
        "2026-10",
        1000,
        [
            line("2026-10-03", "receipt", 0),
            line("2026-10-04", "receipt", -5),
            line("2026-10-05", "deposit", 100),
            line("2026-09-30", "release", 100),
            line("2026-10-32", "release", 100),
            line("2026-10-06", "refund", "100"),
            line("2026-10-07", "receipt", 100, ref="DUP-1"),
            line("2026-10-08", "receipt", 100, ref="DUP-1"),
            {"date": "2026-10-09", "type": "receipt", "amount_fen": 1, "ref": "C-1", "colour": "red"},
            {"date": "2026-10-09", "type": "receipt", "ref": "C-2"},
        ],
    )
    doc["colour"] = "blue"
    doc["receipts_fen"] = 7
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(doc).encode(), TODAY)
    got = problems_of(exc)
    assert "positive" in got["lines[0].amount_fen"]
    assert "positive" in got["lines[1].amount_fen"]
    assert "unknown line type" in got["lines[2].type"]
    assert "outside the period 2026-10" in got["lines[3].date"]
    assert "not a real date" in got["lines[4].date"]
    assert "whole number" in got["lines[5].amount_fen"]
    assert "duplicate ref DUP-1: already used at lines[6]" in got["lines[7].ref"]
    assert got["lines[8].colour"] == "unknown field"
    assert got["lines[9].amount_fen"] == "required"
    assert "colour" in got
    assert "closing_balance_fen" in got  # 7 receipts no longer add up to the closing balance
    assert len(exc.value.problems) == len(got)


def test_totals_that_differ_from_the_lines_are_rejected() -> None:
    doc = statement("2026-10", 0)
    doc["receipts_fen"] += 1
    doc["closing_balance_fen"] += 1
    doc["bank_reported_balance_fen"] += 1
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(doc).encode(), TODAY)
    assert list(problems_of(exc)) == ["receipts_fen"]
    assert "differs from the sum of the receipt lines, 140000" in exc.value.problems[0].msg


def test_a_closing_balance_that_does_not_follow_is_rejected() -> None:
    doc = statement("2026-10", 5000, closing_balance_fen=1)
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(doc).encode(), TODAY)
    msg = problems_of(exc)["closing_balance_fen"]
    assert "5000 + 140000 - 50000 - 20000 = 75000" in msg


def test_a_future_period_and_future_dates_are_rejected() -> None:
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(statement("2026-12", 0)).encode(), TODAY)
    assert "in the future" in problems_of(exc)["period"]
    current = statement("2026-11", 0, [line("2026-11-29", "receipt", 10), line("2026-12-01", "receipt", 10)])
    current["lines"].insert(1, line("2026-11-30", "receipt", 10))
    current = statement("2026-11", 0, current["lines"])
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(current).encode(), TODAY)
    assert list(problems_of(exc)) == ["lines[2].date"]  # today is fine, tomorrow is not


def test_mode_needs_its_balance_and_numbers_must_be_numbers() -> None:
    doc = statement("2026-10", 0, bank_reported_balance_fen=None, opening_balance_fen="0")
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(doc).encode(), TODAY)
    got = problems_of(exc)
    assert "opening_balance_fen" in got
    doc = statement("2026-10", 0, bank_reported_balance_fen=None)
    with pytest.raises(Invalid) as exc:
        parse_json(json.dumps(doc).encode(), TODAY)
    assert problems_of(exc) == {"bank_reported_balance_fen": "required for bank_custody"}


def test_malformed_json_and_non_objects_are_clear() -> None:
    with pytest.raises(Invalid) as exc:
        parse_json(b'{"period": ', TODAY)
    assert exc.value.problems[0].loc == "$"
    with pytest.raises(Invalid):
        parse_json(b"[]", TODAY)


# ------------------------------------------------------------------------------------------------ CSV


def test_csv_with_a_comment_block_equals_the_json() -> None:
    doc = statement("2026-10", 1200000)
    from_json = parse_json(json.dumps(doc).encode(), TODAY)
    from_csv = parse_csv(to_csv(doc).encode(), {}, TODAY)
    assert from_csv.summary == from_json.summary
    assert from_csv.lines == from_json.lines
    from_form = parse_csv(to_csv(doc, with_summary=False).encode(), summary_form(doc), TODAY)
    assert from_form.summary == from_json.summary


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gb18030(encoding: str) -> None:
    doc = statement("2026-10", 0)
    text = "# 天河区示例培训中心 2026年10月报表\n" + to_csv(doc)
    parsed = parse_csv(text.encode(encoding), {}, TODAY)
    assert len(parsed.lines) == 3


def test_undecodable_csv_is_a_clear_problem() -> None:
    with pytest.raises(Invalid) as exc:
        parse_csv(b"date,type\n\xff\xfe\xff", {}, TODAY, "october.csv")
    assert exc.value.problems[0].loc.startswith("october.csv:byte")
    assert "neither UTF-8 nor GB18030" in exc.value.detail


def test_every_csv_problem_names_its_line_and_column() -> None:
    doc = statement("2026-10", 0)
    body = to_csv(doc)
    body += "2026-10-05,gift,100,G-1,,,\n"  # line 15
    body += "2026-11-05,receipt,-100,G-2,K 1,0,\n"  # line 16
    body += "2026-10-05,receipt,12.50,Q-17,,,\n"  # line 17 (a ref no helper line uses)
    body += "2026-10-05,receipt,100,X-2,,,,extra\n"  # line 18
    body += ",,,,,,\n"  # a blank spreadsheet row is not a line
    with pytest.raises(Invalid) as exc:
        parse_csv(body.encode(), {}, TODAY, "oct.csv")
    got = problems_of(exc)
    header_line = next(i for i, ln in enumerate(body.splitlines(), 1) if ln.startswith("date,"))
    first = header_line + 4
    assert "unknown line type 'gift'" in got[f"oct.csv:{first}:type"]
    assert "outside the period" in got[f"oct.csv:{first + 1}:date"]
    assert "positive" in got[f"oct.csv:{first + 1}:amount_fen"]
    assert "package code" in got[f"oct.csv:{first + 1}:package_code"]
    assert "1 to" in got[f"oct.csv:{first + 1}:lessons"]
    assert "whole number" in got[f"oct.csv:{first + 2}:amount_fen"]
    assert "cells" in got[f"oct.csv:{first + 3}"]
    assert len(got) == 7, got


def test_duplicate_ref_in_csv_points_at_the_first_use() -> None:
    doc = statement("2026-10", 0, [line("2026-10-01", "receipt", 100, ref="A-1")])
    body = to_csv(doc) + "2026-10-02,receipt,100,A-1,,,\n"
    with pytest.raises(Invalid) as exc:
        parse_csv(body.encode(), {}, TODAY, "s.csv")
    (problem,) = exc.value.problems
    n = len(body.splitlines())
    assert problem.loc == f"s.csv:{n}:ref"
    assert problem.msg == f"duplicate ref A-1: already used at s.csv:{n - 1}"


def test_csv_header_problems_are_reported() -> None:
    doc = statement("2026-10", 0)
    body = to_csv(doc).replace("amount_fen,ref", "amount,ref")
    with pytest.raises(Invalid) as exc:
        parse_csv(body.encode(), {}, TODAY, "s.csv")
    msg = " ".join(p.msg for p in exc.value.problems)
    assert "unknown columns amount" in msg and "missing columns amount_fen" in msg


def test_form_and_comment_block_must_agree_and_unknown_form_fields_are_refused() -> None:
    doc = statement("2026-10", 0)
    form = {"period": "2026-09", "colour": "blue"}
    with pytest.raises(Invalid) as exc:
        parse_csv(to_csv(doc).encode(), form, TODAY)
    got = problems_of(exc)
    assert "the form says '2026-09' but the file says '2026-10'" in got["period"]
    assert got["colour"] == "unknown field"


def test_quoted_cells_and_crlf_and_spaces_are_read() -> None:
    doc = statement("2026-10", 0, [line("2026-10-01", "receipt", 100, ref="A-1")])
    body = (
        to_csv(doc)
        .replace("\n", "\r\n")
        .replace("2026-10-01,receipt,100,A-1", '"2026-10-01", receipt ,"100",A-1')
    )
    parsed = parse_csv(body.encode(), {}, TODAY)
    assert parsed.lines == [("2026-10-01", "receipt", 100, "A-1", None, None, None)]


def test_the_same_content_gives_the_same_request_hash() -> None:
    doc = statement("2026-10", 0)
    a = parse_json(json.dumps(doc).encode(), TODAY)
    b = parse_json(json.dumps(doc, indent=2).encode(), TODAY)
    doc["lines"][0]["amount_fen"] += 1
    doc["receipts_fen"] += 1
    doc["closing_balance_fen"] += 1
    doc["bank_reported_balance_fen"] += 1
    doc["unearned_liability_fen"] += 1
    c = parse_json(json.dumps(doc).encode(), TODAY)
    assert a.request_sha256 == b.request_sha256 != c.request_sha256
