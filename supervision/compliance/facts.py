"""The facts of institutions (事实): their documents, built as JSON by PostgreSQL, and their escrow statements
in force, as the rules read them; read on a plain psycopg connection.

This module imports no SQLAlchemy, so that a pool worker that only reads facts and evaluates them starts in
a fraction of a second. The queries use psycopg's ``%(name)s`` parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader

from supervision.escrow import schemas as escrow_schemas

# The institution documents of ``(lo, hi]`` by id, the same JSON as ``registry.queries.DOCUMENT_SQL`` (a test
# holds them equal) but set-based: each child table is read once per range through its index instead of once
# per institution, and objects are made from rows (``json_agg(v)``, ``row_to_json``) rather than key by key,
# which together save about a quarter of the database's time on a full run.
_LICENCE = """'number', l.number, 'first_approved_on', l.first_approved_on, 'issued_on', l.issued_on,
        'valid_until', l.valid_until, 'status', l.status, 'scope', json_build_object('categories',
        l.scope_categories, 'stages', l.scope_stages, 'modes', l.scope_modes)"""
_ESCROW = "'mode', i.escrow_mode, 'bank', i.escrow_bank, 'account_last4', i.escrow_account_last4"
RANGE_DOCUMENTS_SQL = f"""
WITH c AS MATERIALIZED (
  SELECT * FROM course WHERE institution_id > %(lo)s AND institution_id <= %(hi)s),
sl AS (SELECT s.course_id, json_agg(v ORDER BY s.id) AS j
      FROM course_slot s, LATERAL (SELECT s.weekday, to_char(s.start, 'HH24:MI') AS start,
        to_char(s."end", 'HH24:MI') AS "end") v
      WHERE s.course_id = ANY(ARRAY(SELECT id FROM c)) GROUP BY s.course_id),
se AS (SELECT s.course_id, json_agg(v ORDER BY s.id) AS j
      FROM course_session s, LATERAL (SELECT s.date, to_char(s.start, 'HH24:MI') AS start,
        to_char(s."end", 'HH24:MI') AS "end") v
      WHERE s.course_id = ANY(ARRAY(SELECT id FROM c)) GROUP BY s.course_id),
pk AS (SELECT p.course_id, json_agg(v ORDER BY p.id) AS j
      FROM prepaid_package p, LATERAL (SELECT p.code, p.lessons, p.months, p.price_fen) v
      WHERE p.course_id = ANY(ARRAY(SELECT id FROM c)) GROUP BY p.course_id),
co AS (
  SELECT c.institution_id, json_agg(v ORDER BY c.id) AS j
  FROM c LEFT JOIN sl ON sl.course_id = c.id LEFT JOIN se ON se.course_id = c.id
  LEFT JOIN pk ON pk.course_id = c.id,
  LATERAL (SELECT c.code, c.title, c.category, c.subject, c.stages, c.mode, c.class_size_max,
        c.lesson_minutes, c.price_per_lesson_fen, c.teacher_codes,
        json_build_object('start', c.term_start, 'end', c.term_end) AS term,
        coalesce(sl.j, '[]') AS weekly_slots, coalesce(se.j, '[]') AS sessions,
        coalesce(pk.j, '[]') AS prepaid_packages) v
  GROUP BY c.institution_id),
li AS (SELECT * FROM licence WHERE institution_id > %(lo)s AND institution_id <= %(hi)s),
pr AS (SELECT p.institution_id, json_agg(v ORDER BY p.id) AS j
    FROM premises p, LATERAL (SELECT p.code, p.address, p.area_m2::text AS area_m2,
        p.max_concurrent_students) v
    WHERE p.institution_id > %(lo)s AND p.institution_id <= %(hi)s
    GROUP BY p.institution_id),
te AS (SELECT t.institution_id, json_agg(v ORDER BY t.id) AS j
    FROM teacher t, LATERAL (SELECT t.code, t.name, t.has_teacher_certificate, t.serving_school_teacher) v
    WHERE t.institution_id > %(lo)s AND t.institution_id <= %(hi)s
    GROUP BY t.institution_id)
SELECT i.id, row_to_json(v) AS doc
FROM institution i LEFT JOIN li l ON l.institution_id = i.id
LEFT JOIN pr ON pr.institution_id = i.id LEFT JOIN te ON te.institution_id = i.id
LEFT JOIN co ON co.institution_id = i.id,
LATERAL (SELECT i.uscc, i.name, i.nature, i.status, i.district, i.grid, i.address,
  CASE WHEN l.id IS NOT NULL AND l.scope_history IS NULL THEN json_build_object({_LICENCE})
       WHEN l.id IS NOT NULL THEN json_build_object({_LICENCE}, 'scope_history', l.scope_history)
       END AS licence,
  CASE WHEN NOT i.has_escrow THEN NULL WHEN i.escrow_since IS NULL THEN json_build_object({_ESCROW})
       ELSE json_build_object({_ESCROW}, 'since', i.escrow_since) END AS escrow,
  coalesce(pr.j, '[]') AS premises, coalesce(te.j, '[]') AS teachers, coalesce(co.j, '[]') AS courses) v
WHERE i.id > %(lo)s AND i.id <= %(hi)s
ORDER BY i.id
"""

# What the rules read of a statement (the rules' facts): its summary, its id, what it amends, and its receipt
# lines (FEE-PREPAY-CAP checks every receipt line, FEE-NO-ESCROW looks for one); of an institution's latest
# statement also its release and refund lines (RISK-LARGE-RELEASE weighs each against the opening balance).
# No other rule reads a release or a refund line (they count through the summary's totals), so the release
# and refund lines of earlier statements are neither read nor built. A test (generated statements with every
# kind of line, and the golden cases) holds the findings from these facts equal to those from the whole
# statements: a rule that comes to read other lines adds their type here.
RULE_LINE_TYPES = ("receipt",)
LATEST_LINE_TYPES = ("receipt", "release", "refund")
SUMMARY_FIELDS = ("id", *escrow_schemas.SUMMARY_FIELDS)

# The escrow statements in force (accepted, not superseded: no later statement amends them) of the
# institutions matched by ``{where}``, by institution and period; then the receipt lines of some of them.
STATEMENTS_SQL = """
SELECT s.institution_id, s.id, s.period, s.mode, s.opening_balance_fen, s.receipts_fen, s.released_fen,
  s.refunds_fen, s.closing_balance_fen, s.bank_reported_balance_fen, s.reserve_balance_fen,
  s.unearned_liability_fen, s.amends_id
FROM escrow_statement s
WHERE {where} AND NOT EXISTS (SELECT 1 FROM escrow_statement n WHERE n.amends_id = s.id)
ORDER BY s.institution_id, s.period, s.id
"""
RANGE_WHERE = "s.institution_id > %(lo)s AND s.institution_id <= %(hi)s"
LINES_SQL = """
SELECT to_char(x.date, 'YYYY-MM-DD'), x.type, x.amount_fen, x.ref, x.package_code, x.lessons, x.months,
  x.statement_id
FROM escrow_statement_line x
WHERE x.statement_id = ANY(%(ids)s) AND (x.type = ANY(%(types)s) OR x.statement_id = ANY(%(latest)s))
ORDER BY x.statement_id, x.seq
"""


def statement(
    summary: Mapping[str, Any], lines: Iterable[Sequence[Any]], *, latest: bool = True
) -> dict[str, Any]:
    """A statement as the rules read it: ``summary`` (``SUMMARY_FIELDS``) and its lines of the types a rule
    reads (:data:`LATEST_LINE_TYPES` of the institution's ``latest`` statement, else
    :data:`RULE_LINE_TYPES`), each in the shape of the data formats (optional fields left out when empty).

    ``lines`` are in the order of the statement, each ``(date, type, amount_fen, ref, package_code, lessons,
    months, …)`` (further items are ignored): the rows read back from the database, or the lines of a
    statement just parsed. This is the one place where a statement becomes facts, whatever the source.
    """
    out = {k: summary[k] for k in SUMMARY_FIELDS}
    types = LATEST_LINE_TYPES if latest else RULE_LINE_TYPES
    kept = []
    for x in lines:
        if x[1] not in types:
            continue
        line = {"date": x[0], "type": x[1], "amount_fen": x[2], "ref": x[3]}
        if x[4] is not None:
            line["package_code"] = x[4]
        if x[5] is not None:
            line["lessons"] = x[5]
        if x[6] is not None:
            line["months"] = x[6]
        kept.append(line)
    out["lines"] = kept
    return out


def read_statements(
    cur: psycopg.Cursor[Any],
    where: str,
    params: Mapping[str, Any],
    known_lines: Mapping[int, Sequence[Sequence[Any]]] | None = None,
    as_of: dt.date | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """The statements in force of the institutions matched by ``where`` (over ``escrow_statement s``), as
    :func:`statement` makes them, by institution, each institution's by period. Institutions without any are
    left out. The lines of the statements in ``known_lines`` (by statement id: a statement the caller has
    just stored) are taken from there instead of being read back."""
    known = known_lines or {}
    cur.execute(STATEMENTS_SQL.format(where=where), params)
    heads = cur.fetchall()
    # Heads are by institution and period: an institution's latest statement is its last one of a period up to
    # the month of ``as_of`` (a run as of a past date does not see later statements as its latest).
    month = f"{as_of.year:04d}-{as_of.month:02d}" if as_of else "9999-12"
    seen = [h for h in heads if h[2] <= month]
    latest = {h[1] for i, h in enumerate(seen) if i + 1 == len(seen) or seen[i + 1][0] != h[0]}
    lines: dict[int, list[Sequence[Any]]] = {h[1]: [] for h in heads if h[1] not in known}
    if lines:
        ids = list(lines)
        cur.execute(
            LINES_SQL, {"ids": ids, "types": list(RULE_LINE_TYPES), "latest": [i for i in ids if i in latest]}
        )
        for row in cur:
            lines[row[7]].append(row)
    out: dict[int, list[dict[str, Any]]] = {}
    for h in heads:
        summary = dict(zip(SUMMARY_FIELDS, h[1:], strict=True))
        source = known[h[1]] if h[1] in known else lines[h[1]]
        out.setdefault(h[0], []).append(statement(summary, source, latest=h[1] in latest))
    return out


class _JsonBytes(Loader):
    """``json`` values as the bytes PostgreSQL sent, for orjson to parse (no detour through ``str``)."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


STORED_TIERS_SQL = """
SELECT institution_id, tier, array_to_string(because, ',') FROM institution_risk
WHERE institution_id > %(lo)s AND institution_id <= %(hi)s
"""


def stored_tiers(conn: psycopg.Connection[Any], lo: int, hi: int) -> dict[int, tuple[str, str]]:
    """The risk tiers stored for ``lo < id <= hi`` (tier, reasons joined by commas); no row is green."""
    with conn.cursor() as cur:
        cur.execute(STORED_TIERS_SQL, {"lo": lo, "hi": hi})
        return {r[0]: (r[1], r[2]) for r in cur.fetchall()}


STORED_FINDINGS_SQL = """
SELECT institution_id, rule_id, subject, digest FROM finding
WHERE status = 'open' AND institution_id > %(lo)s AND institution_id <= %(hi)s
"""


def stored_findings(conn: psycopg.Connection[Any], lo: int, hi: int) -> dict[tuple[int, str, str], str]:
    """The digests of the open findings of ``lo < id <= hi``, by (institution id, rule ID, subject)."""
    with conn.cursor() as cur:
        cur.execute(STORED_FINDINGS_SQL, {"lo": lo, "hi": hi})
        return {(r[0], r[1], r[2]): r[3] for r in cur.fetchall()}


def read_range(
    conn: psycopg.Connection[Any], lo: int, hi: int, as_of: dt.date | None = None
) -> Iterator[tuple[int, dict[str, Any], Any]]:
    """(id, document, statements in force as an evaluation on ``as_of`` reads them) of every institution with
    ``lo < id <= hi``, by id."""
    with conn.cursor() as cur:
        cur.adapters.register_loader("json", _JsonBytes)
        statements = read_statements(cur, RANGE_WHERE, {"lo": lo, "hi": hi}, as_of=as_of)
        cur.execute(RANGE_DOCUMENTS_SQL, {"lo": lo, "hi": hi})
        for iid, doc in cur:
            yield iid, orjson.loads(doc), statements.get(iid, [])
