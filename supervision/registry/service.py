"""Registry changes: create, replace and delete institutions, in bulk or one at a time, with audit rows.

Every write goes through :func:`save_documents`: the API saving one institution and an import of 100k use
the same path, so validation, unchanged-detection and audit are the same everywhere. Validation prepares
each document's rows as COPY text (:mod:`rows`); storing draws the ids from the sequences and streams the
text with one COPY per table, which is what makes bulk imports fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from supervision.core import audit, inputs, rulebook
from supervision.core.clock import business_date
from supervision.core.errors import Conflict, Invalid, NotFound, Problem, problems_from_pydantic
from supervision.registry import fastcheck, queries
from supervision.registry.rows import Rows, batch_lines, copy_rows
from supervision.registry.schemas import PATTERN_HINTS, InstitutionDoc, cross_field_errors, same_scope
from supervision.settings import get_settings

KEPT_HISTORY_SQLSTATES = {"23503", "42501"}
"""Foreign-key violation, or an append-only table refusing the cascade."""


def canonical(doc: dict[str, Any]) -> bytes:
    """The canonical JSON of a document: keys sorted, compact, UTF-8."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class ValidDoc:
    """A document that passed validation: its credit code, canonical JSON, SHA-256 and COPY lines.

    The content itself is parsed back from the canonical JSON when asked for (rarely: storing needs only
    the lines)."""

    uscc: str
    canonical: bytes
    sha256: str
    rows: Rows

    @cached_property
    def doc(self) -> dict[str, Any]:
        return dict(orjson.loads(self.canonical))


def grid_problem(grid: Any, loc: str = "") -> list[Problem]:
    """A grid (网格) that is not one of the service's jurisdiction's (``jurisdictions.yaml``); a jurisdiction
    that lists no grids accepts any."""
    known = rulebook.grids(get_settings().jurisdiction)
    if not known or not isinstance(grid, str) or grid in known:
        return []
    return [Problem(f"{loc}.grid" if loc else "grid", f"{grid} is not a grid of this jurisdiction")]


def validate(raw: Any, loc: str = "") -> ValidDoc:
    """Validate one raw document; raise :class:`Invalid` listing every problem with its field path.

    The schema runs in strict JSON mode over the canonical bytes, so a valid document's content *is* its
    canonical form (every field present, dates as ``YYYY-MM-DD``, no coercion of wrong types). A document
    passing :mod:`fastcheck` (the same schema, checked more cheaply) is valid; any other goes through the
    schema itself, which has the last word and names every problem.
    """
    if not isinstance(raw, dict):
        raise Invalid("an institution document must be a JSON object", [Problem(loc or "$", "not an object")])
    where = f"institution {raw.get('uscc')!r}" if isinstance(raw.get("uscc"), str) else "institution"
    try:
        data = canonical(raw)
    except TypeError:  # orjson's encode error: an integer beyond 64 bits, a lone surrogate, too deep
        bad = inputs.problems(raw, loc) or [Problem(loc or "$", "cannot be written as JSON")]
        raise Invalid(f"{where} is not valid", bad) from None
    grid = grid_problem(raw.get("grid"), loc)
    try:
        if not fastcheck.passes(data):
            InstitutionDoc.__pydantic_validator__.validate_json(data)
    except ValidationError as exc:
        errors: list[Any] = list(exc.errors())
        # The checks across fields run in the schema only once the fields they span are valid: run them over
        # the raw document too, so that a duplicate code is reported beside a wrong type, not after its fix.
        reported = {(tuple(e["loc"]), str(e["msg"]).removeprefix("Value error, ")) for e in errors}
        errors += [e for e in cross_field_errors(raw) if (e["loc"], e["msg"]) not in reported]
        problems = problems_from_pydantic(errors, loc, PATTERN_HINTS)
        raise Invalid(f"{where} is not valid", [*problems, *grid]) from None
    if grid:
        raise Invalid(f"{where} is not valid", grid)
    return ValidDoc(raw["uscc"], data, hashlib.sha256(data).hexdigest(), copy_rows(raw))


@dataclass
class SaveResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)
    refused: dict[str, list[Problem]] = field(default_factory=dict)
    """Documents not stored, with why (only when the caller asked to go on without them)."""


def save_documents(
    session: Session,
    docs: Sequence[ValidDoc],
    *,
    actor: str,
    now: dt.datetime,
    mode: str = "upsert",
    skip_refused: bool = False,
) -> SaveResult:
    """Store validated documents. ``mode``: ``upsert`` (create or replace), ``create`` (409 if any exists).

    Identical documents are left alone and write no audit rows. Changed ones have their children replaced
    as a whole. A document that would undo a licence revocation or suspension still in force is refused
    (:func:`licence_problems`): the whole call raises :class:`Invalid`, or with ``skip_refused`` (an import)
    the others are stored and the refused ones reported in the result. Flushes; the caller's transaction
    commits.
    """
    result = SaveResult()
    seen: set[str] = set()
    for v in docs:
        if v.uscc in seen:
            raise Invalid("the same institution appears twice", [Problem(v.uscc, "duplicate uscc in input")])
        seen.add(v.uscc)
    have = queries.existing(session, [v.uscc for v in docs])
    if mode == "create" and have:
        raise Conflict(f"already registered: {', '.join(sorted(have))}", "already_exists")
    refused = licence_problems(session, [v for v in docs if v.uscc in have])
    if refused and not skip_refused:
        problems = [p for ps in refused.values() for p in ps]
        raise Invalid("the licence's status is set by a decision in force", problems)
    result.refused = refused
    docs = [v for v in docs if v.uscc not in refused]

    staged: list[tuple[int, bool, ValidDoc]] = []
    new = [v for v in docs if v.uscc not in have]
    for v, iid in zip(new, queries.next_ids(session, "institution", len(new)), strict=True):
        result.ids[v.uscc] = iid
        result.created.append(v.uscc)
        staged.append((iid, True, v))
    replaced: list[tuple[int, ValidDoc]] = []
    for v in docs:
        if v.uscc in have:
            iid, old_sha, _ = have[v.uscc]
            result.ids[v.uscc] = iid
            if old_sha == v.sha256:
                result.unchanged.append(v.uscc)
            else:
                replaced.append((iid, v))
    session.flush()
    before = queries.documents_by_id(session, [iid for iid, _ in replaced])
    for iid, v in replaced:
        kept = keep_scope_history(before[iid], v, business_date(now))
        if kept.sha256 == have[v.uscc][1]:
            result.unchanged.append(v.uscc)  # the document as stored, its scope history left out
        else:
            result.updated.append(v.uscc)
            staged.append((iid, False, kept))
    if not staged:
        return result

    changed = [iid for iid, is_new, _ in staged if not is_new]
    course_ids = iter(queries.next_ids(session, "course", sum(len(v.rows.courses) for _, _, v in staged)))
    lines = batch_lines(staged, course_ids, before, actor=actor, now=now)
    if not queries.store_batch(session, lines, changed, now):
        # Another transaction registered one of these credit codes after ours looked: nothing of this
        # batch is kept (the transaction is aborted), and the caller is told to try again.
        raise Conflict(
            "another change registered the same institution at the same time; try again",
            "concurrent_change",
        )
    return result


def keep_scope_history(old: dict[str, Any], new: ValidDoc, today: dt.date) -> ValidDoc:
    """A replacement document that gives no ``licence.scope_history`` keeps the stored one, and a change of
    scope appends an entry dated ``today`` (the business day of the change), so the history is never lost
    (``formats.md``). A stored licence without a history starts one from its first approval with its old
    scope. A document that gives a history is stored as given (it comes from the approval records)."""
    lic, old_lic = new.doc.get("licence"), old.get("licence")
    if lic is None or old_lic is None or "scope_history" in lic:
        return new
    history = [dict(e) for e in old_lic.get("scope_history") or []]
    if not same_scope(old_lic["scope"], lic["scope"]):
        if not history:
            history = [{"from": old_lic["first_approved_on"], **old_lic["scope"]}]
        entry = {"from": today.isoformat(), **lic["scope"]}
        if history[-1]["from"] >= entry["from"]:
            history[-1] = {**entry, "from": history[-1]["from"]}  # changed again the same day
        else:
            history.append(entry)
    if not history or history[0]["from"] < lic["first_approved_on"]:
        return new  # nothing to keep, or a history the new first approval date no longer admits
    doc = {**new.doc, "licence": {**lic, "scope_history": history}}
    return validate(doc)


def licence_problems(session: Session, docs: Sequence[ValidDoc]) -> dict[str, list[Problem]]:
    """Documents whose licence status would undo a decision in force: a revoked licence stays ``revoked``
    and a suspended one ``suspended`` (or ``revoked``) until the decision is lifted (解除), whatever an edit
    or an import says. By credit code, the problem naming the decision."""
    locks = queries.licence_locks(session, [v.uscc for v in docs])
    out: dict[str, list[Problem]] = {}
    for v in docs:
        if v.uscc not in locks:
            continue
        reference, kind, decided_on = locks[v.uscc]
        status = (v.doc.get("licence") or {}).get("status")
        keep = ("revoked",) if kind == "revoke_licence" else ("suspended", "revoked")
        if status not in keep:
            verb = "revoked" if kind == "revoke_licence" else "suspended"
            out[v.uscc] = [
                Problem(
                    "licence.status",
                    f"{v.uscc}: the licence was {verb} by decision {reference} of {decided_on}; only a lift"
                    f" of that decision restores it (status {status!r} refused)",
                )
            ]
    return out


def grids(jurisdiction: str) -> list[str]:
    """The supervision grids (网格) of the jurisdiction, for filters and forms: configuration
    (``jurisdictions.yaml``), not a query."""
    return list(rulebook.grids(jurisdiction))


def search(session: Session, **filters: Any) -> tuple[int, list[dict[str, Any]]]:
    """Staff search over the registry (see :func:`queries.search` for the filters)."""
    return queries.search(session, **filters)


def risk(session: Session, uscc: str) -> dict[str, Any]:
    """The institution's early-warning tier (风险等级) as the last evaluation stored it."""
    found = queries.risk(session, uscc)
    if found is None:
        raise NotFound(f"no institution with credit code {uscc}")
    return found


def count(session: Session) -> int:
    return queries.count(session)


def history(session: Session, uscc: str, limit: int = 50) -> list[Any]:
    """The institution's audit trail, newest first."""
    return queries.history(session, uscc, limit)


def get(session: Session, uscc: str) -> dict[str, Any]:
    doc = queries.document(session, uscc)
    if doc is None:
        raise NotFound(f"no institution with credit code {uscc}")
    return doc


def save_one(
    session: Session, raw: Any, *, actor: str, now: dt.datetime, mode: str
) -> tuple[str, dict[str, Any]]:
    """Validate and store one document; returns (``created``|``updated``|``unchanged``, stored document)."""
    doc = validate(raw)
    res = save_documents(session, [doc], actor=actor, now=now, mode=mode)
    outcome = "created" if res.created else "updated" if res.updated else "unchanged"
    return outcome, get(session, doc.uscc)


def delete(session: Session, uscc: str, *, actor: str, now: dt.datetime) -> None:
    """Remove an institution registered by mistake.

    One with history that must be kept (escrow statements, decisions) cannot be deleted: the append-only
    tables refuse, and the answer is a 409 saying to close it instead.
    """
    before = get(session, uscc)
    try:
        with session.begin_nested():
            queries.delete(session, uscc)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in KEPT_HISTORY_SQLSTATES:
            raise
        raise Conflict(
            f"{uscc} has records that are kept for good (statements, ledger, decisions); "
            "set its status to closed instead of deleting it",
            "has_history",
        ) from None
    audit.record(
        session,
        at=now,
        actor=actor,
        action="delete",
        entity="institution",
        key=uscc,
        before=before,
        after=None,
    )
    session.flush()


def check_path_matches(uscc: str, raw: Any) -> None:
    if isinstance(raw, dict) and raw.get("uscc") != uscc:
        raise Invalid(
            "the document's credit code differs from the URL", [Problem("uscc", f"expected {uscc}")]
        )
