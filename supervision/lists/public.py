"""What parents see about lists (公开查询): search with list status, and an institution's status explained.

The status shown is the one *published*: an institution's entry in the latest edition of each list, with the
rule or conduct IDs and the decision references of its ``reason`` resolved into plain words, the legal basis,
since when and until when. An institution on no list is told which white-list conditions it does not meet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.core.errors import NotFound
from supervision.core.pagination import PageParams
from supervision.lists import catalogue, queries
from supervision.lists import service as lists
from supervision.lists.readpool import pool_for
from supervision.registry import public as public_registry
from supervision.registry import queries as registry_queries

LIST_FILTER = (
    "EXISTS (SELECT 1 FROM list_entry e WHERE e.uscc = i.uscc AND e.edition_id ="
    " (SELECT id FROM list_edition WHERE kind = :list_kind AND status = 'published'"
    " ORDER BY seq DESC LIMIT 1))"
)


def search(
    session: Session,
    *,
    q: str | None,
    grid: str | None,
    category: str | None,
    list_kind: str | None,
    paging: PageParams,
) -> tuple[int, list[dict[str, Any]]]:
    """The registry search, filtered by list if asked, each hit with its current list status."""
    extra, params = "", {}
    if list_kind:
        lists.check_kinds([list_kind])
        extra, params = LIST_FILTER, {"list_kind": list_kind}
    total, rows = registry_queries.search(
        session,
        q=q,
        grid=grid,
        category=category,
        status=None,
        limit=paging.page_size,
        offset=paging.offset,
        extra_where=extra,
        extra_params=params,
    )
    items = [{k: r[k] for k in public_registry.PUBLIC_SEARCH_FIELDS} for r in rows]
    status = queries.current_status(session, [i["uscc"] for i in items])
    for i in items:
        s = status.get(i["uscc"])
        i["list"] = (
            {"kind": s["kind"], "since": s["since"], "reason": s["reason"], "rule_ids": rule_ids(s["reason"])}
            if s
            else None
        )
    return total, items


def parse_reason(reason: str | None) -> list[dict[str, Any]]:
    """``"LIC-NONE,CONDUCT-DISGUISED 穗天教监〔2026〕8号; LIC-INACTIVE"`` → grounds with IDs and reference."""
    return [{"rule_ids": ids, "reference": ref} for ids, ref in lists.parse_reason(reason)]


def rule_ids(reason: str | None) -> list[str]:
    return [i for g in parse_reason(reason) for i in g["rule_ids"]]


def _history_periods(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive editions of one list collapsed into periods, newest first."""
    periods: list[dict[str, Any]] = []
    for r in sorted(rows, key=lambda r: (r["kind"], r["seq"])):
        last = periods[-1] if periods else None
        if last and last["kind"] == r["kind"] and last["to_seq"] + 1 == r["seq"]:
            last.update(to_seq=r["seq"], to=r["as_of"], reason=r["reason"])
        else:
            periods.append(
                {
                    "kind": r["kind"],
                    "from_seq": r["seq"],
                    "to_seq": r["seq"],
                    "from": r["as_of"],
                    "to": r["as_of"],
                    "since": r["since"],
                    "reason": r["reason"],
                }
            )
    return sorted(periods, key=lambda p: p["to"], reverse=True)


def explain(
    reason: str | None, decision_rows: list[dict[str, Any]], rules: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each ground of a reason with its rules (title, plain description, legal basis) and decision."""
    by_ref = {d["reference"]: d for d in decision_rows}
    grounds = []
    for g in parse_reason(reason):
        grounds.append(
            {
                "reference": g["reference"],
                "decision": by_ref.get(g["reference"]) if g["reference"] else None,
                "rules": [
                    rules.get(
                        i,
                        {
                            "id": i,
                            "title_zh": i,
                            "title_en": i,
                            "description_zh": "",
                            "description_en": "",
                            "legal_basis": "",
                        },
                    )
                    for i in g["rule_ids"]
                ],
            }
        )
    return grounds


def grids(session: Session) -> list[str]:
    """The grids (街道) for the filters."""
    return registry_queries.grids(session)


# ------------------------------------------------------------------------------------------ one-query lookup

RECORD_SQL = """
WITH i AS (SELECT * FROM institution WHERE uscc = %(u)s),
latest AS (
  SELECT DISTINCT ON (kind) id FROM list_edition WHERE status = 'published' ORDER BY kind, seq DESC
)
SELECT json_build_object(
  'doc', (SELECT json_build_object(
      'uscc', i.uscc, 'name', i.name, 'nature', i.nature, 'status', i.status, 'district', i.district,
      'grid', i.grid, 'address', i.address,
      'licence', (SELECT json_build_object('number', l.number, 'first_approved_on', l.first_approved_on,
            'issued_on', l.issued_on, 'valid_until', l.valid_until, 'status', l.status,
            'scope', json_build_object('categories', l.scope_categories, 'stages', l.scope_stages,
                                       'modes', l.scope_modes))
          FROM licence l WHERE l.institution_id = i.id),
      'escrow', json_build_object('supervised', i.has_escrow AND i.escrow_mode IS NOT NULL,
                                  'mode', CASE WHEN i.has_escrow THEN i.escrow_mode END,
                                  'bank', CASE WHEN i.has_escrow THEN i.escrow_bank END),
      'premises', coalesce((SELECT json_agg(json_build_object('address', p.address) ORDER BY p.id)
          FROM premises p WHERE p.institution_id = i.id), '[]'),
      'courses', coalesce((SELECT json_agg(json_build_object('title', c.title, 'category', c.category,
            'subject', c.subject, 'stages', c.stages, 'mode', c.mode, 'class_size_max', c.class_size_max,
            'lesson_minutes', c.lesson_minutes, 'price_per_lesson_fen', c.price_per_lesson_fen) ORDER BY c.id)
          FROM course c WHERE c.institution_id = i.id), '[]')) FROM i),
  'history', coalesce((SELECT json_agg(json_build_object('kind', ed.kind, 'seq', ed.seq, 'as_of', ed.as_of,
        'reason', e.reason, 'since', e.since, 'current', ed.id IN (SELECT id FROM latest)))
      FROM list_entry e JOIN list_edition ed ON ed.id = e.edition_id
      WHERE e.uscc = %(u)s AND ed.status = 'published'), '[]'),
  'decisions', coalesce((SELECT json_agg(json_build_object('reference', d.reference, 'kind', d.kind,
        'basis', d.basis, 'summary', d.summary, 'decided_on', d.decided_on,
        'effective_from', d.effective_from, 'deadline', d.deadline, 'until', d.until,
        'lifts', p.reference, 'lifted_by', l.reference, 'lifted_on', l.effective_from)
        ORDER BY d.effective_from DESC, d.id DESC)
      FROM decision d LEFT JOIN decision p ON p.id = d.lifts_id LEFT JOIN decision l ON l.lifts_id = d.id
      WHERE d.uscc = %(u)s), '[]'),
  'white', (SELECT json_build_object('registered', true, 'status', i.status, 'escrow_mode', i.escrow_mode,
        'licence_status', l.status, 'issued_on', l.issued_on, 'valid_until', l.valid_until,
        'out_of_scope', EXISTS (SELECT 1 FROM course c WHERE c.institution_id = i.id
            AND NOT (c.category = ANY(l.scope_categories) AND c.stages <@ l.scope_stages
                     AND c.mode = ANY(l.scope_modes))),
        'critical', ARRAY(SELECT DISTINCT f.rule_id FROM finding f WHERE f.institution_id = i.id
            AND f.status = 'open' AND f.severity = 'critical' ORDER BY 1))
      FROM i LEFT JOIN licence l ON l.institution_id = i.id)
)::text
"""

_DATE_FIELDS = ("as_of", "since", "decided_on", "effective_from", "deadline", "until", "lifted_on")


def _dates(row: dict[str, Any]) -> dict[str, Any]:
    for k in _DATE_FIELDS:
        v = row.get(k)
        if isinstance(v, str):
            row[k] = dt.date.fromisoformat(v)
    return row


async def institution(engine: Engine, uscc: str, *, today: dt.date, jurisdiction: str) -> dict[str, Any]:
    """The public record with its list status explained (the grounds: rules in plain words with their legal
    basis, and the decision), its public decisions, its list history, and, when it is not on the white list,
    which white-list conditions it does not meet. One statement, read through :mod:`readpool`."""
    raw = await pool_for(engine).value(RECORD_SQL, {"u": uscc})
    data = orjson.loads(raw)
    if data["doc"] is None:
        raise NotFound(f"no institution with credit code {uscc}")
    rows = [_dates(r) for r in data["history"]]
    decision_rows = [_dates(d) for d in data["decisions"]]
    current = next((r for r in rows if r["current"]), None)
    rules = catalogue.by_id(jurisdiction, today)
    status: dict[str, Any] | None = None
    if current is not None:
        status = {
            "kind": current["kind"],
            "seq": current["seq"],
            "as_of": current["as_of"],
            "since": current["since"],
            "reason": current["reason"],
            "grounds": explain(current["reason"], decision_rows, rules),
        }
    not_white: list[str] = []
    if current is None or current["kind"] != "white":
        checks = _dates(data["white"])
        for k in ("issued_on", "valid_until"):
            if isinstance(checks.get(k), str):
                checks[k] = dt.date.fromisoformat(checks[k])
        not_white = lists.white_failures(checks, today)
    return {
        **data["doc"],
        "list": status,
        "not_white": not_white,
        "decisions": decision_rows,
        "history": _history_periods(rows),
    }


async def institution_json(engine: Engine, uscc: str, *, today: dt.date, jurisdiction: str) -> dict[str, Any]:
    """:func:`institution` with each ground's rules reduced to their ID, titles, severity and legal basis."""
    out = await institution(engine, uscc, today=today, jurisdiction=jurisdiction)
    if out["list"]:
        for g in out["list"]["grounds"]:
            g["rules"] = [
                {k: r.get(k) for k in ("id", "title_zh", "title_en", "legal_basis", "severity")}
                for r in g["rules"]
            ]
    return out
