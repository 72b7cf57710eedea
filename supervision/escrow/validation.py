"""Reading and checking a statement (报表校验): JSON or CSV in, a :class:`ParsedStatement` or every problem.

Everything a statement can get wrong on its own is found here, in one pass over the lines: unknown fields,
types, zero or negative amounts, unknown line types, dates outside the period, duplicate refs, totals that
differ from the lines, a closing balance that is not ``opening + receipts - released - refunds``, a future
period, undecodable text. Problems name the field (``lines[3].amount_fen``) or the CSV file, line and column
(``statement.csv:5:amount_fen``). Checks against history (amendments, the previous month) are the service's.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from pydantic import ValidationError

from supervision.core import inputs
from supervision.core.errors import Invalid, Problem, problems_from_pydantic
from supervision.escrow.schemas import (
    LINE_FIELDS,
    MAX_AMOUNT_FEN,
    REQUIRED_LINE_FIELDS,
    SUMMARY_FIELDS,
    Line,
    ParsedStatement,
    StatementSummary,
)

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:#/-]{0,63}")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TYPES = frozenset(("receipt", "release", "refund"))
_LINE_FIELD_SET = frozenset(LINE_FIELDS)
MAX_LESSONS = 100_000
MAX_MONTHS = 120


def decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, what spreadsheets in China save; else a clear problem."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"{name} is neither UTF-8 nor GB18030 text",
            [Problem(f"{name}:byte {exc.start}", "undecodable bytes: save the file as UTF-8 or GB18030")],
        ) from None


def request_sha256(kind: str, payload: bytes, fields: Mapping[str, str] | None = None) -> str:
    """What an ``Idempotency-Key`` is bound to: the kind of request, its content, and its form fields."""
    h = hashlib.sha256(kind.encode() + b"\0" + payload)
    if fields:
        h.update(b"\0" + orjson.dumps(dict(fields), option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


# ---------------------------------------------------------------------------------------------- summary


def _summary(raw: Mapping[str, Any], *, strict: bool, problems: list[Problem]) -> StatementSummary | None:
    """The summary fields; unknown ones are reported apart, so they do not hide the arithmetic checks."""
    known = {k: v for k, v in raw.items() if k in SUMMARY_FIELDS}
    for key in sorted(k for k in raw if k not in SUMMARY_FIELDS):
        problems.append(Problem(key, "unknown field"))
    try:
        return StatementSummary.model_validate(known, strict=strict)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc.errors()))
        return None


def _summary_checks(s: StatementSummary, today: dt.date, problems: list[Problem]) -> None:
    if s.period > month_of(today):
        problems.append(Problem("period", f"{s.period} is in the future (today is {today.isoformat()})"))
    if s.mode == "bank_custody" and s.bank_reported_balance_fen is None:
        problems.append(Problem("bank_reported_balance_fen", "required for bank_custody"))
    if s.mode == "risk_reserve" and s.reserve_balance_fen is None:
        problems.append(Problem("reserve_balance_fen", "required for risk_reserve"))
    computed = s.opening_balance_fen + s.receipts_fen - s.released_fen - s.refunds_fen
    if computed != s.closing_balance_fen:
        problems.append(
            Problem(
                "closing_balance_fen",
                f"{s.closing_balance_fen} is not opening + receipts - released - refunds = "
                f"{s.opening_balance_fen} + {s.receipts_fen} - {s.released_fen} - {s.refunds_fen}"
                f" = {computed}",
            )
        )


def _totals_checks(s: StatementSummary, totals: dict[str, int], problems: list[Problem]) -> None:
    for field, type_ in (("receipts_fen", "receipt"), ("released_fen", "release"), ("refunds_fen", "refund")):
        declared = getattr(s, field)
        if declared != totals[type_]:
            problems.append(
                Problem(field, f"{declared} differs from the sum of the {type_} lines, {totals[type_]}")
            )


# ------------------------------------------------------------------------------------------------ lines


class _LineChecker:
    """One pass over the lines: values checked, refs de-duplicated, totals summed per type.

    ``days`` holds every date a line may carry (in the period, not after today), so the common case is one
    set lookup; the careful checks run only for a value that fails it, to say exactly what is wrong.
    """

    __slots__ = ("days", "lines", "locate", "period", "problems", "refs", "today", "totals")

    def __init__(
        self, period: str | None, today: dt.date, problems: list[Problem], locate: Callable[[int], str]
    ) -> None:
        self.period = period
        self.today = today.isoformat()
        self.problems = problems
        self.locate = locate
        self.lines: list[Line] = []
        self.refs: dict[str, int] = {}
        self.totals = {"receipt": 0, "release": 0, "refund": 0}
        self.days: frozenset[str] = frozenset()
        if period is not None:
            year, month = int(period[:4]), int(period[5:7])
            last = calendar.monthrange(year, month)[1]
            self.days = frozenset(
                d for d in (f"{period}-{day:02d}" for day in range(1, last + 1)) if d <= self.today
            )

    def date(self, value: Any, where: str) -> str | None:
        if value in self.days:
            return str(value)
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            self.problems.append(Problem(where, "must be a date written YYYY-MM-DD"))
            return None
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            self.problems.append(Problem(where, f"{value} is not a real date"))
            return None
        if self.period is not None and value[:7] != self.period:
            self.problems.append(Problem(where, f"{value} is outside the period {self.period}"))
        elif self.period is not None:
            self.problems.append(Problem(where, f"{value} is in the future (today is {self.today})"))
        return None

    def type(self, value: Any, where: str) -> str | None:
        if value in _TYPES:
            return str(value)
        self.problems.append(
            Problem(where, f"unknown line type {value!r}: expected receipt, release or refund")
        )
        return None

    def amount(self, value: Any, where: str) -> int | None:
        if type(value) is int and 0 < value <= MAX_AMOUNT_FEN:
            return value
        if type(value) is int:
            self.problems.append(
                Problem(where, "must be a positive amount of fen" if value <= 0 else "is implausibly large")
            )
        else:
            self.problems.append(Problem(where, "must be a whole number of fen"))
        return None

    def ref(self, value: Any, where: str, key: int) -> str | None:
        if not isinstance(value, str) or not _REF.fullmatch(value):
            self.problems.append(Problem(where, _REF_RULE))
            return None
        first = self.refs.get(value)
        if first is not None:
            self.problems.append(
                Problem(where, f"duplicate ref {value}: already used at {self.locate(first)}")
            )
            return None
        self.refs[value] = key
        return value

    def package(self, value: Any, where: str) -> tuple[bool, str | None]:
        if value is None:
            return True, None
        if isinstance(value, str) and _CODE.fullmatch(value):
            return True, value
        self.problems.append(Problem(where, "must be a package code: 1-32 letters, digits, _ or -"))
        return False, None

    def count(self, value: Any, where: str, most: int) -> tuple[bool, int | None]:
        if value is None:
            return True, None
        if type(value) is int and 1 <= value <= most:
            return True, value
        self.problems.append(Problem(where, f"must be a whole number from 1 to {most}"))
        return False, None

    def add(self, line: Line) -> None:
        self.lines.append(line)
        self.totals[line[1]] += line[2]


_REF_RULE = "must be 1-64 characters: letters, digits and _ . : # / - (first a letter or digit)"


def _int_text(value: str) -> int | str | None:
    """CSV cell → int when it is plain ASCII digits (an optional leading minus), None when empty."""
    if not value:
        return None
    body = value[1:] if value[0] == "-" else value
    if body.isascii() and body.isdigit():
        return int(value)
    return value


# ------------------------------------------------------------------------------------------------- JSON


def parse_json(body: bytes, today: dt.date) -> ParsedStatement:
    """A JSON statement (the body of ``POST /api/v1/escrow/statements``), decoded within the door's bounds
    whatever the request said its content type was (:func:`supervision.core.inputs.decode`)."""
    raw = inputs.decode(body, "the body")
    if not isinstance(raw, dict):
        raise Invalid("a statement must be a JSON object", [Problem("$", "not an object")])
    sha = request_sha256("json", orjson.dumps(raw, option=orjson.OPT_SORT_KEYS))
    problems: list[Problem] = []
    summary_raw = {k: v for k, v in raw.items() if k != "lines"}
    summary = _summary(summary_raw, strict=True, problems=problems)
    lines = raw.get("lines")
    period = summary.period if summary else _loose_period(raw.get("period"))
    checker = _LineChecker(period, today, problems, lambda i: f"lines[{i}]")
    if not isinstance(lines, list):
        problems.append(Problem("lines", "required: a list of lines (it may be empty)"))
        lines = []
    _json_lines(lines, checker)
    return _finish(summary, checker, problems, today, "json", sha, lines_ok=len(checker.lines) == len(lines))


def _json_lines(lines: list[Any], checker: _LineChecker) -> None:
    days, refs, totals, out = checker.days, checker.refs, checker.totals, checker.lines
    ref_ok, code_ok = _REF.fullmatch, _CODE.fullmatch
    problems = checker.problems
    for i, item in enumerate(lines):
        # The common case, a valid line, costs a few lookups; anything else takes the careful path below.
        if type(item) is dict and item.keys() <= _LINE_FIELD_SET:
            date, type_, amount, ref = (
                item.get("date"),
                item.get("type"),
                item.get("amount_fen"),
                item.get("ref"),
            )
            package, lessons, months = item.get("package_code"), item.get("lessons"), item.get("months")
            if (
                date in days
                and type_ in _TYPES
                and type(amount) is int
                and 0 < amount <= MAX_AMOUNT_FEN
                and type(ref) is str
                and ref not in refs
                and ref_ok(ref)
                and (package is None or (type(package) is str and code_ok(package)))
                and (lessons is None or (type(lessons) is int and 0 < lessons <= MAX_LESSONS))
                and (months is None or (type(months) is int and 0 < months <= MAX_MONTHS))
            ):
                refs[ref] = i
                out.append((date, type_, amount, ref, package, lessons, months))
                totals[type_] += amount
                continue
        at = f"lines[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(at, "must be an object"))
            continue
        for key in sorted(item.keys() - _LINE_FIELD_SET):
            problems.append(Problem(f"{at}.{key}", "unknown field"))
        missing = [f for f in REQUIRED_LINE_FIELDS if f not in item]
        for f in missing:
            problems.append(Problem(f"{at}.{f}", "required"))
        if missing:
            continue
        date = checker.date(item["date"], f"{at}.date")
        type_ = checker.type(item["type"], f"{at}.type")
        amount = checker.amount(item["amount_fen"], f"{at}.amount_fen")
        ref = checker.ref(item["ref"], f"{at}.ref", i)
        ok_p, package = checker.package(item.get("package_code"), f"{at}.package_code")
        ok_l, lessons = checker.count(item.get("lessons"), f"{at}.lessons", MAX_LESSONS)
        ok_m, months = checker.count(item.get("months"), f"{at}.months", MAX_MONTHS)
        if date is None or type_ is None or amount is None or ref is None or not (ok_p and ok_l and ok_m):
            continue
        if item.keys() <= _LINE_FIELD_SET:
            checker.add((date, type_, amount, ref, package, lessons, months))


def _loose_period(value: Any) -> str | None:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value):
        return value
    return None


def _finish(
    summary: StatementSummary | None,
    checker: _LineChecker,
    problems: list[Problem],
    today: dt.date,
    source: str,
    sha: str,
    *,
    lines_ok: bool,
) -> ParsedStatement:
    if summary is not None:
        _summary_checks(summary, today, problems)
        if lines_ok:
            _totals_checks(summary, checker.totals, problems)
    if problems or summary is None:
        raise Invalid(
            f"the statement was rejected: {len(problems)} problem{'s' if len(problems) != 1 else ''}",
            problems,
        )
    return ParsedStatement(summary, checker.lines, "json" if source == "json" else "csv", sha)


# -------------------------------------------------------------------------------------------------- CSV


def _comment_block(text: str, name: str, problems: list[Problem]) -> tuple[dict[str, str], int, int]:
    """Leading ``# field: value`` lines (trailing commas from spreadsheets ignored).

    Returns the fields, the offset where the CSV proper starts, and how many lines the block took.
    """
    fields: dict[str, str] = {}
    pos = 0
    lineno = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        line = text[pos:end].strip().rstrip(",").strip()
        if line and not line.startswith("#"):
            break
        lineno += 1
        pos = end
        body = line[1:].strip()
        if not body:
            continue
        key, sep, value = body.partition(":")
        if not sep:
            key, sep, value = body.partition("=")
        key = key.strip()
        if key not in SUMMARY_FIELDS:
            continue  # a free comment
        if not sep:
            problems.append(Problem(f"{name}:{lineno}", f"expected '# {key}: value'"))
            continue
        if key in fields:
            problems.append(Problem(f"{name}:{lineno}", f"{key} is given twice"))
        fields[key] = value.strip().strip('"').strip()
    return fields, pos, lineno


def parse_csv(
    data: bytes, form: Mapping[str, str], today: dt.date, name: str = "statement.csv"
) -> ParsedStatement:
    """A CSV statement: lines under the header ``date,type,amount_fen,ref,package_code,lessons,months``,
    the summary as form fields or a leading ``# field: value`` comment block (or both, if they agree)."""
    sha = request_sha256("csv", data, form)
    text = decode(data, name)
    problems: list[Problem] = []
    block, start, skipped = _comment_block(text, name, problems)
    summary_raw: dict[str, Any] = {}
    for key in SUMMARY_FIELDS:
        in_form = (form.get(key) or "").strip()
        in_file = block.get(key, "")
        if in_form and in_file and in_form != in_file:
            problems.append(Problem(key, f"the form says {in_form!r} but the file says {in_file!r}"))
        value = in_form or in_file
        if value:
            summary_raw[key] = value
        elif key in ("bank_reported_balance_fen", "reserve_balance_fen", "amends"):
            summary_raw[key] = None
    for key in sorted(k for k in form if k not in SUMMARY_FIELDS and form[k]):
        summary_raw[key] = form[key]
    summary = _summary(summary_raw, strict=False, problems=problems)
    period = summary.period if summary else _loose_period(summary_raw.get("period"))
    checker = _LineChecker(period, today, problems, lambda n: f"{name}:{n}")

    reader = csv.reader(io.StringIO(text[start:], newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise Invalid("the CSV cannot be read", [Problem(f"{name}:{skipped + 1}", str(exc))]) from None
    if header is None:
        problems.append(Problem(f"{name}:{skipped + 1}", f"missing header row: {','.join(LINE_FIELDS)}"))
        raise Invalid("the statement was rejected", problems)
    columns = [h.strip().lower() for h in header]
    while columns and not columns[-1]:
        columns.pop()
    bad = [c for c in columns if c not in _LINE_FIELD_SET]
    dup = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in REQUIRED_LINE_FIELDS if c not in columns]
    if bad or dup or missing:
        what = []
        if bad:
            what.append(f"unknown columns {', '.join(bad)}")
        if dup:
            what.append(f"repeated columns {', '.join(dup)}")
        if missing:
            what.append(f"missing columns {', '.join(missing)}")
        problems.append(
            Problem(f"{name}:{skipped + 1}", f"{'; '.join(what)} (expected {','.join(LINE_FIELDS)})")
        )
        raise Invalid("the statement was rejected", problems)
    index = {c: i for i, c in enumerate(columns)}
    width = len(columns)
    order = [index.get(f) for f in LINE_FIELDS]
    n_rows = 0
    good = 0
    try:
        good, n_rows = _csv_rows(reader, checker, order, width, name, skipped, problems)
    except csv.Error as exc:
        problems.append(Problem(f"{name}:{skipped + reader.line_num}", f"unreadable CSV: {exc}"))
    return _finish(summary, checker, problems, today, "csv", sha, lines_ok=good == n_rows)


def _csv_rows(
    reader: Any,
    checker: _LineChecker,
    order: list[int | None],
    width: int,
    name: str,
    skipped: int,
    problems: list[Problem],
) -> tuple[int, int]:
    """Check every data row; returns (rows that passed, rows seen). Blank rows are skipped."""
    i_date, i_type, i_amount, i_ref, i_pkg, i_lessons, i_months = order
    assert i_date is not None and i_type is not None and i_amount is not None and i_ref is not None
    days, refs, totals, out = checker.days, checker.refs, checker.totals, checker.lines
    ref_ok, code_ok = _REF.fullmatch, _CODE.fullmatch
    n_rows = 0
    good = 0
    for row in reader:
        line_no = skipped + reader.line_num
        n_rows += 1
        # The common case, a clean row, costs a few lookups; anything else takes the careful path below.
        if len(row) == width:
            date, type_, amount_s, ref = row[i_date], row[i_type], row[i_amount], row[i_ref]
            package = row[i_pkg] if i_pkg is not None else ""
            lessons = row[i_lessons] if i_lessons is not None else ""
            months = row[i_months] if i_months is not None else ""
            if (
                date in days
                and type_ in _TYPES
                and amount_s.isdigit()
                and amount_s.isascii()
                and amount_s[0] != "0"
                and len(amount_s) <= 15
                and ref not in refs
                and ref_ok(ref)
                and (not package or code_ok(package))
                and (
                    not lessons
                    or (lessons.isdigit() and lessons.isascii() and lessons[0] != "0" and len(lessons) <= 5)
                )
                and (
                    not months
                    or (months.isdigit() and months.isascii() and months[0] != "0" and len(months) <= 2)
                )
            ):
                amount = int(amount_s)
                refs[ref] = line_no
                out.append(
                    (
                        date,
                        type_,
                        amount,
                        ref,
                        package or None,
                        int(lessons) if lessons else None,
                        int(months) if months else None,
                    )
                )
                totals[type_] += amount
                good += 1
                continue
        if _careful_row(row, checker, order, width, f"{name}:{line_no}", line_no):
            good += 1
        elif not any(c.strip() for c in row):
            n_rows -= 1  # a blank row (spreadsheets leave them) is not a line
    return good, n_rows


def _careful_row(
    row: list[str], checker: _LineChecker, order: list[int | None], width: int, at: str, line_no: int
) -> bool:
    """Check one row field by field, recording every problem; add it when it is valid."""
    problems = checker.problems
    i_date, i_type, i_amount, i_ref, i_pkg, i_lessons, i_months = order
    assert i_date is not None and i_type is not None and i_amount is not None and i_ref is not None
    if not any(c.strip() for c in row):
        return False
    if len(row) > width and any(c.strip() for c in row[width:]):
        problems.append(Problem(at, f"{len(row)} cells but the header has {width} columns"))
        return False
    if len(row) < width:
        row = row + [""] * (width - len(row))
    cells = [c.strip() for c in row]
    date_s, type_s, amount_s, ref_s = cells[i_date], cells[i_type], cells[i_amount], cells[i_ref]
    date = checker.date(date_s, f"{at}:date") if date_s else _req(problems, f"{at}:date")
    type_ = checker.type(type_s, f"{at}:type") if type_s else _req(problems, f"{at}:type")
    amount = (
        checker.amount(_int_text(amount_s), f"{at}:amount_fen")
        if amount_s
        else _req(problems, f"{at}:amount_fen")
    )
    ref = checker.ref(ref_s, f"{at}:ref", line_no) if ref_s else _req(problems, f"{at}:ref")
    package = lessons = months = None
    ok = True
    if i_pkg is not None and cells[i_pkg]:
        ok_p, package = checker.package(cells[i_pkg], f"{at}:package_code")
        ok = ok and ok_p
    if i_lessons is not None and cells[i_lessons]:
        ok_l, lessons = checker.count(_int_text(cells[i_lessons]), f"{at}:lessons", MAX_LESSONS)
        ok = ok and ok_l
    if i_months is not None and cells[i_months]:
        ok_m, months = checker.count(_int_text(cells[i_months]), f"{at}:months", MAX_MONTHS)
        ok = ok and ok_m
    if date is None or type_ is None or amount is None or ref is None or not ok:
        return False
    checker.add((date, type_, amount, ref, package, lessons, months))
    return True


def _req(problems: list[Problem], where: str) -> Any:
    """Record a missing required cell; the value is None."""
    problems.append(Problem(where, "required"))
    return None
