"""The public self-check (自查): an institution document, and its statements if given, evaluated as of a
date without storing anything. The statements are checked like a submission, by the escrow area's
validator (:func:`supervision.escrow.validation.parse_json`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from supervision.compliance import evaluation as ev
from supervision.compliance import facts
from supervision.core import rulebook
from supervision.core.errors import Invalid, Problem
from supervision.escrow.validation import parse_json
from supervision.registry import service as registry
from supervision.settings import get_settings


def _statements(raw: Any, as_of: dt.date) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Statements of a self-check, each checked like a submission (the escrow area's validator)."""
    if not isinstance(raw, list):
        return [], [Problem("statements", "must be a list of statements (it may be empty)")]
    out: list[dict[str, Any]] = []
    problems: list[Problem] = []
    periods: dict[str, int] = {}
    for i, item in enumerate(raw):
        try:
            parsed = parse_json(orjson.dumps(item), as_of)
        except Invalid as err:
            problems += [
                Problem(f"statements[{i}]" + (f".{p.loc}" if p.loc != "$" else ""), p.msg)
                for p in err.problems
            ]
            continue
        period = parsed.summary.period
        if period in periods:
            problems.append(
                Problem(
                    f"statements[{i}].period",
                    f"{period} appears twice (first at statements[{periods[period]}])",
                )
            )
            continue
        periods[period] = i
        out.append(facts.statement({**parsed.summary.model_dump(), "id": i + 1}, parsed.lines))
    return out, problems


def evaluate_document(raw: Any, as_of: dt.date, *, jurisdiction: str | None = None) -> dict[str, Any]:
    """Evaluate an institution document (and, if given, its ``statements``) without storing anything.

    Invalid input raises :class:`Invalid` listing every problem, with the registry's paths for the document
    and ``statements[i]…`` for the statements. Without a ``statements`` key the rules that read statements
    are not evaluated; with ``"statements": []`` the institution is taken to have filed none.
    """
    jurisdiction = jurisdiction or get_settings().jurisdiction
    if not isinstance(raw, dict):
        raise Invalid("an institution document must be a JSON object", [Problem("$", "not an object")])
    body = dict(raw)
    statements_raw = body.pop("statements", None)
    problems: list[Problem] = []
    detail = "the document is not valid"
    doc: dict[str, Any] | None = None
    try:
        doc = registry.validate(body).doc
    except Invalid as err:
        detail = err.detail
        problems += err.problems
    statements: list[dict[str, Any]] | None = None
    if "statements" in raw:
        statements, bad = _statements(statements_raw, as_of)
        problems += bad
    if problems or doc is None:
        raise Invalid(detail, problems)
    ctx = rulebook.context(jurisdiction, as_of)
    result = ctx.evaluate(doc, statements)
    return {
        "as_of": as_of.isoformat(),
        "jurisdiction": jurisdiction,
        "engine_version": ev.engine_version(),
        "parameter_hash": ctx.engine.parameter_set_hash,
        "findings": [f.to_dict() for f in result.findings],
        "uncovered_dates": sorted(d.isoformat() for d in result.uncovered_dates),
        "risk": result.risk.to_dict(),
    }
