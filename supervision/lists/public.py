"""What parents see about lists (公开查询): search with list status, and an institution's status explained.

The status shown is the one *published*: an institution's entry in the latest edition of each list, with the
rule or conduct IDs and the decision references of its ``reason`` resolved into plain words, the legal basis,
since when and until when. An institution on no list is told which white-list conditions it does not meet.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from supervision.cases import queries as decisions
from supervision.core.pagination import PageParams
from supervision.lists import catalogue, queries
from supervision.lists import service as lists
from supervision.registry import public as public_registry
from supervision.registry import queries as registry_queries

LIST_FILTER = (
    "EXISTS (SELECT 1 FROM list_entry e WHERE e.uscc = i.uscc AND e.edition_id ="
    " (SELECT id FROM list_edition WHERE kind = :list_kind AND status = 'published'"
    " ORDER BY seq DESC LIMIT 1))"
)

DECISION_PUBLIC_FIELDS = (
    "reference",
    "kind",
    "basis",
    "summary",
    "decided_on",
    "effective_from",
    "deadline",
    "until",
    "lifts",
    "lifted_by",
    "lifted_on",
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


def _status_rows(session: Session, uscc: str) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            """
            WITH latest AS (
              SELECT DISTINCT ON (kind) id FROM list_edition WHERE status = 'published'
              ORDER BY kind, seq DESC
            )
            SELECT ed.kind, ed.seq, ed.as_of, e.reason, e.since, ed.id IN (SELECT id FROM latest) AS current
            FROM list_entry e JOIN list_edition ed ON ed.id = e.edition_id
            WHERE e.uscc = :u AND ed.status = 'published'
            """
        ),
        {"u": uscc},
    )
    return [dict(r._mapping) for r in rows]


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


def institution(session: Session, uscc: str, *, today: dt.date, jurisdiction: str) -> dict[str, Any]:
    """The public record with its list status explained, its public decisions and its list history."""
    record = public_registry.record(session, uscc)
    rows = _status_rows(session, uscc)
    current = next((r for r in rows if r["current"]), None)
    decision_rows = [
        {k: d[k] for k in DECISION_PUBLIC_FIELDS} for d in decisions.for_institution(session, uscc)
    ]
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
        not_white = lists.not_white_reasons(session, [uscc], today).get(uscc, [])
    return {
        **record,
        "list": status,
        "not_white": not_white,
        "decisions": decision_rows,
        "history": _history_periods(rows),
    }


def grids(session: Session) -> list[str]:
    """The grids (街道) for the filters."""
    return registry_queries.grids(session)


def institution_json(session: Session, uscc: str, *, today: dt.date, jurisdiction: str) -> dict[str, Any]:
    """:func:`institution` with each ground's rules reduced to their ID, titles and legal basis."""
    out = institution(session, uscc, today=today, jurisdiction=jurisdiction)
    if out["list"]:
        for g in out["list"]["grounds"]:
            g["rules"] = [
                {k: r.get(k) for k in ("id", "title_zh", "title_en", "legal_basis", "severity")}
                for r in g["rules"]
            ]
    return out
