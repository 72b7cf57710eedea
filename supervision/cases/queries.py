"""Every SQL statement of the cases area: decisions, complaints, cases, proposals, inspections."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from supervision.accounts.models import StaffUser
from supervision.cases.models import OPEN_STATES, Attachment, Case, CaseEvent, Complaint, Inspection, Proposal

_DECISION_SQL = """
SELECT d.id, d.reference, d.uscc, d.institution_name, d.kind, d.basis, d.summary, d.decided_on,
       d.effective_from, d.deadline, d.until, p.reference AS lifts, l.reference AS lifted_by,
       l.effective_from AS lifted_on, d.officer, d.recorded_by, d.recorded_at, d.approved_by, d.case_id
FROM decision d
LEFT JOIN decision p ON p.id = d.lifts_id
LEFT JOIN decision l ON l.lifts_id = d.id
"""


def by_reference(session: Session, reference: str) -> dict[str, Any] | None:
    row = session.execute(text(_DECISION_SQL + " WHERE d.reference = :r"), {"r": reference}).first()
    return dict(row._mapping) if row else None


def by_id(session: Session, decision_id: int) -> dict[str, Any] | None:
    row = session.execute(text(_DECISION_SQL + " WHERE d.id = :i"), {"i": decision_id}).first()
    return dict(row._mapping) if row else None


def search(
    session: Session, *, uscc: str | None, kind: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where: list[str] = ["TRUE"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if uscc:
        where.append("d.uscc = :u")
        params["u"] = uscc
    if kind:
        where.append("d.kind = :k")
        params["k"] = kind
    cond = " AND ".join(where)
    total = session.execute(text(f"SELECT count(*) FROM decision d WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            _DECISION_SQL
            + f" WHERE {cond} ORDER BY d.recorded_at DESC, d.id DESC LIMIT :limit OFFSET :offset"
        ),
        params,
    )
    return total, [dict(r._mapping) for r in rows]


def complaint(session: Session, reference: str) -> dict[str, Any] | None:
    row = session.execute(
        text(
            "SELECT reference, uscc, institution_name, text, contact, created_at FROM complaint"
            " WHERE reference = :r"
        ),
        {"r": reference},
    ).first()
    return dict(row._mapping) if row else None


def next_decision_id(session: Session) -> int:
    return int(session.execute(text("SELECT nextval('decision_id_seq')")).scalar_one())


# ------------------------------------------------------------------------------------------ cases

_CASE_COLUMNS = frozenset(
    {"assigned_to", "decision_id", "verification", "outcome", "merged_into_id", "uscc", "institution_name"}
)


def move_case(
    session: Session,
    *,
    case_id: int,
    version: int,
    state: str,
    now: dt.datetime,
    closed_at: dt.datetime | None,
    changes: dict[str, Any],
) -> bool:
    """Set the state (and ``changes``) of a case if its version is still ``version``; bump the version.
    False when someone else changed it first (optimistic concurrency: one success, one refusal)."""
    unknown = set(changes) - _CASE_COLUMNS
    assert not unknown, f"not a column a move may set: {sorted(unknown)}"
    sets = "".join(f", {column} = :c_{column}" for column in changes)
    params: dict[str, Any] = {f"c_{k}": v for k, v in changes.items()}
    params.update(id=case_id, version=version, state=state, now=now, closed_at=closed_at)
    row = session.execute(
        text(
            "UPDATE enforcement_case SET state = :state, version = version + 1, updated_at = :now,"
            f" closed_at = COALESCE(:closed_at, closed_at){sets}"
            " WHERE id = :id AND version = :version RETURNING id"
        ),
        params,
    ).first()
    return row is not None


def username_of(session: Session, user_id: int) -> str | None:
    return session.execute(
        text("SELECT username FROM staff_user WHERE id = :i"), {"i": user_id}
    ).scalar_one_or_none()


def case_by_reference(session: Session, reference: str, *, lock: bool = False) -> Case | None:
    stmt = select(Case).where(Case.reference == reference)
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def case_by_id(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def next_case_id(session: Session) -> int:
    return int(session.execute(text("SELECT nextval('enforcement_case_id_seq')")).scalar_one())


def next_inspection_id(session: Session) -> int:
    return int(session.execute(text("SELECT nextval('inspection_id_seq')")).scalar_one())


_OPEN_SQL = "(" + ",".join(f"'{s}'" for s in OPEN_STATES) + ")"


def red_without_risk_case(session: Session) -> list[tuple[str, list[str]]]:
    """(credit code, reasons) of the institutions in the red tier with no risk case opened since they turned
    red (and none open)."""
    rows = session.execute(
        text(
            "SELECT i.uscc, r.because FROM institution_risk r JOIN institution i ON i.id = r.institution_id"
            " WHERE r.tier = 'red'"
            " AND NOT EXISTS (SELECT 1 FROM enforcement_case c WHERE c.uscc = i.uscc AND c.source = 'risk'"
            f"  AND (c.state IN {_OPEN_SQL} OR c.opened_at >= r.changed_at))"
            " ORDER BY i.uscc"
        )
    )
    return [(r[0], list(r[1])) for r in rows]


def open_case_of(session: Session, uscc: str, source: str | None = None) -> Case | None:
    stmt = select(Case).where(Case.uscc == uscc, col(Case.state).in_(OPEN_STATES))
    if source is not None:
        stmt = stmt.where(Case.source == source)
    return session.exec(stmt.order_by(col(Case.id))).first()


def pending_proposal(session: Session, case_id: int) -> Proposal | None:
    """The case's proposal still in play (pending approval, or served as a notice)."""
    return session.exec(
        select(Proposal)
        .where(Proposal.case_id == case_id, col(Proposal.status).in_(("pending", "notified")))
        .order_by(col(Proposal.id).desc())
    ).first()


def proposal_by_id(session: Session, proposal_id: int) -> Proposal | None:
    return session.get(Proposal, proposal_id)


def proposals_of_case(session: Session, case_id: int) -> list[Proposal]:
    return list(session.exec(select(Proposal).where(Proposal.case_id == case_id).order_by(col(Proposal.id))))


def events_of_case(session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id)))
    )


def user_by_username(session: Session, username: str) -> StaffUser | None:
    return session.exec(select(StaffUser).where(StaffUser.username == username)).first()


def due_rectifications(session: Session, as_of: dt.date) -> list[tuple[int, dt.date]]:
    """Cases in ``rectifying`` whose order's deadline has passed by ``as_of`` (the day after the deadline or
    later): their ids and deadlines, oldest first."""
    rows = session.execute(
        text(
            "SELECT c.id, d.deadline FROM enforcement_case c JOIN decision d ON d.id = c.decision_id"
            " WHERE c.state = 'rectifying' AND d.deadline < :as_of ORDER BY d.deadline, c.id"
        ),
        {"as_of": as_of},
    )
    return [(int(r.id), r.deadline) for r in rows]


def open_rule_ids(session: Session, uscc: str) -> set[str]:
    """The rule IDs of the institution's open findings."""
    rows = session.execute(
        text(
            "SELECT DISTINCT f.rule_id FROM finding f JOIN institution i ON i.id = f.institution_id"
            " WHERE i.uscc = :u AND f.status = 'open'"
        ),
        {"u": uscc},
    )
    return {r.rule_id for r in rows}


def proposals_of_uscc(session: Session, uscc: str) -> list[Proposal]:
    return list(session.exec(select(Proposal).where(Proposal.uscc == uscc).order_by(col(Proposal.id))))


# ------------------------------------------------------------------------------------------ complaints inbox

_INBOX_SQL = """
SELECT c.id, c.reference, c.uscc, c.institution_name, c.text, c.contact, c.created_at, c.received_on,
       c.triage_due, c.grid, c.status, c.reason, c.triaged_by, c.triaged_at, e.reference AS case_reference,
       i.name AS registered_name,
       (SELECT min(x.uscc) FROM institution x
         WHERE c.grid IS NULL AND c.institution_name IS NOT NULL AND x.name = c.institution_name
        HAVING count(*) = 1) AS name_uscc
FROM complaint c
LEFT JOIN enforcement_case e ON e.id = c.case_id
LEFT JOIN institution i ON i.uscc = c.uscc AND c.grid IS NOT NULL
"""


def _inbox_where(
    *, status: str | None, grid: str | None, overdue: bool | None, uscc: str | None, today: dt.date
) -> tuple[str, dict[str, Any]]:
    where = ["TRUE"]
    params: dict[str, Any] = {"today": today}
    if status is not None:
        where.append("c.status = :status")
        params["status"] = status
    if grid is not None:
        where.append("c.grid = :grid")
        params["grid"] = grid
    if uscc is not None:
        where.append("c.uscc = :uscc")
        params["uscc"] = uscc
    late = "(c.status = 'new' AND c.triage_due < :today)"
    if overdue is True:
        where.append(late)
    elif overdue is False:
        where.append(f"NOT {late}")
    return " AND ".join(where), params


def inbox(
    session: Session,
    *,
    status: str | None,
    grid: str | None,
    overdue: bool | None,
    uscc: str | None,
    today: dt.date,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Complaints with their case reference and registry match, awaiting triage first (the oldest deadline
    first), then the rest newest first."""
    cond, params = _inbox_where(status=status, grid=grid, overdue=overdue, uscc=uscc, today=today)
    total = session.execute(text(f"SELECT count(*) FROM complaint c WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            _INBOX_SQL + f" WHERE {cond}"
            " ORDER BY (c.status = 'new') DESC,"
            " CASE WHEN c.status = 'new' THEN c.triage_due END, c.created_at DESC, c.id DESC"
            " LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return int(total), [dict(r._mapping) for r in rows]


def inbox_row(session: Session, reference: str) -> dict[str, Any] | None:
    row = session.execute(text(_INBOX_SQL + " WHERE c.reference = :r"), {"r": reference}).first()
    return dict(row._mapping) if row else None


def complaint_for_update(session: Session, reference: str) -> Complaint | None:
    """The complaint, its row locked until the end of the transaction (triage happens once)."""
    return session.exec(select(Complaint).where(Complaint.reference == reference).with_for_update()).first()


def complaint_by_reference(session: Session, reference: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.reference == reference)).first()


def triage_complaint(
    session: Session,
    complaint_id: int,
    *,
    status: str,
    case_id: int | None,
    reason: str | None,
    by: str,
    at: dt.datetime,
) -> bool:
    """Record the triage of a complaint still ``new``; False when it was triaged already."""
    row = session.execute(
        text(
            "UPDATE complaint SET status = :status, case_id = :case_id, reason = :reason, triaged_by = :by,"
            " triaged_at = :at WHERE id = :id AND status = 'new' RETURNING id"
        ),
        {"status": status, "case_id": case_id, "reason": reason, "by": by, "at": at, "id": complaint_id},
    ).first()
    return row is not None


def match_complaint(session: Session, complaint_id: int, *, uscc: str, name: str, grid: str) -> bool:
    """Link a complaint not yet matched to a registered institution; False when it was matched already."""
    row = session.execute(
        text(
            "UPDATE complaint SET uscc = :uscc, institution_name = :name, grid = :grid"
            " WHERE id = :id AND grid IS NULL RETURNING id"
        ),
        {"uscc": uscc, "name": name, "grid": grid, "id": complaint_id},
    ).first()
    return row is not None


def case_following(session: Session, case_id: int) -> Case | None:
    """The follow-up case opened when ``case_id`` was closed as not rectified."""
    return session.exec(select(Case).where(Case.follows_id == case_id).order_by(col(Case.id))).first()


# ------------------------------------------------------------------------------------------ inspections


def active_staff(session: Session, usernames: list[str]) -> dict[str, StaffUser]:
    """The active staff users among ``usernames``, by username."""
    if not usernames:
        return {}
    users = session.exec(
        select(StaffUser).where(col(StaffUser.username).in_(usernames), col(StaffUser.active).is_(True))
    )
    return {u.username: u for u in users}


def inspection_by_reference(session: Session, reference: str) -> Inspection | None:
    return session.exec(select(Inspection).where(Inspection.reference == reference)).first()


def inspection_by_id(session: Session, inspection_id: int) -> Inspection | None:
    return session.get(Inspection, inspection_id)


def inspections(
    session: Session, *, uscc: str | None, grid: str | None, limit: int, offset: int
) -> tuple[int, list[Inspection]]:
    """Inspections, newest first."""
    stmt = select(Inspection)
    count = select(func.count()).select_from(Inspection)
    if uscc is not None:
        stmt = stmt.where(Inspection.uscc == uscc)
        count = count.where(Inspection.uscc == uscc)
    if grid is not None:
        stmt = stmt.where(Inspection.grid == grid)
        count = count.where(Inspection.grid == grid)
    total = session.exec(count).one()
    rows = session.exec(
        stmt.order_by(col(Inspection.inspected_on).desc(), col(Inspection.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(rows)


def case_reference_of(session: Session, case_id: int) -> str | None:
    return session.execute(
        text("SELECT reference FROM enforcement_case WHERE id = :i"), {"i": case_id}
    ).scalar_one_or_none()


_ATTACHMENT_COLUMNS = (
    "id, owner, owner_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at"
)


def attachments_of(session: Session, owner: str, owner_id: int) -> list[dict[str, Any]]:
    """The files of one owner, without their content, oldest first."""
    rows = session.execute(
        text(f"SELECT {_ATTACHMENT_COLUMNS} FROM attachment WHERE owner = :o AND owner_id = :i ORDER BY id"),
        {"o": owner, "i": owner_id},
    )
    return [dict(r._mapping) for r in rows]


def attachment_by_id(session: Session, attachment_id: int) -> Attachment | None:
    return session.get(Attachment, attachment_id)


def coverage(session: Session, *, since: dt.date, until: dt.date, grid: str | None) -> list[dict[str, Any]]:
    """Per grid: the operating institutions, and how many of them were inspected after ``since`` and on or
    before ``until``."""
    rows = session.execute(
        text(
            "SELECT i.grid, count(*) AS operating,"
            " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM inspection n WHERE n.uscc = i.uscc"
            "   AND n.inspected_on > :since AND n.inspected_on <= :until)) AS inspected"
            " FROM institution i"
            " WHERE i.status = 'operating' AND (CAST(:grid AS text) IS NULL OR i.grid = :grid)"
            " GROUP BY i.grid ORDER BY i.grid"
        ),
        {"since": since, "until": until, "grid": grid},
    )
    return [dict(r._mapping) for r in rows]


# ------------------------------------------------------------------------------------------ dashboard
# Every figure is aggregated by PostgreSQL; a grid adds a fixed condition to the statement (never a value
# spliced in: the grid is a bound parameter).

UNDECIDED_STATES = ("new", "assigned", "investigating", "proposed", "notified")
"""States in which a case is not yet decided or ended: past ``decide_by`` it is overdue (the rule of
:func:`supervision.cases.casework.is_overdue`)."""

_UNDECIDED_SQL = "(" + ",".join(f"'{s}'" for s in UNDECIDED_STATES) + ")"


def _grid_sql(column: str, grid: str | None) -> str:
    return f" AND {column} = :grid" if grid is not None else ""


def dashboard_institutions(
    session: Session, *, grid: str | None, today: dt.date, inspected_since: dt.date
) -> list[Any]:
    """Institutions grouped by category (from the licence scope) and status, each group with how many of
    its operating institutions were inspected after ``inspected_since`` and how many are in the red and
    yellow risk tiers."""
    # Grouped by two booleans and the status (a handful of groups the planner knows as such: one hash
    # aggregate), the category named afterwards.
    sql = f"""
SELECT CASE WHEN g.unlicensed THEN 'unlicensed' WHEN g.subject THEN 'subject' ELSE 'non_subject' END
         AS category, g.status, g.n, g.inspected, g.red, g.yellow
FROM (
SELECT l.id IS NULL AS unlicensed, coalesce('subject' = ANY(l.scope_categories), FALSE) AS subject,
       i.status, count(*) AS n,
       count(*) FILTER (WHERE i.status = 'operating' AND i.uscc IN (
         SELECT x.uscc FROM inspection x
         WHERE x.uscc IS NOT NULL AND x.inspected_on > :since AND x.inspected_on <= :today)) AS inspected,
       count(*) FILTER (WHERE r.tier = 'red') AS red,
       count(*) FILTER (WHERE r.tier = 'yellow') AS yellow
FROM institution i LEFT JOIN licence l ON l.institution_id = i.id
LEFT JOIN institution_risk r ON r.institution_id = i.id
WHERE TRUE{_grid_sql("i.grid", grid)}
GROUP BY 1, 2, 3
) g
"""
    return list(session.execute(text(sql), {"grid": grid, "today": today, "since": inspected_since}))


def dashboard_open_findings(session: Session, *, grid: str | None) -> dict[str, int]:
    """Open findings by severity."""
    if grid is None:
        sql = "SELECT f.severity, count(*) AS n FROM finding f WHERE f.status = 'open' GROUP BY 1"
    else:
        sql = (
            "SELECT f.severity, count(*) AS n FROM finding f JOIN institution i ON i.id = f.institution_id"
            " WHERE f.status = 'open' AND i.grid = :grid GROUP BY 1"
        )
    return {r.severity: int(r.n) for r in session.execute(text(sql), {"grid": grid})}


def dashboard_cases(session: Session, *, grid: str | None, today: dt.date) -> list[Any]:
    """Cases by state, each with how many are overdue."""
    sql = (
        "SELECT c.state, count(*) AS n,"
        f" count(*) FILTER (WHERE c.state IN {_UNDECIDED_SQL} AND c.decide_by < :today) AS overdue"
        f" FROM enforcement_case c WHERE TRUE{_grid_sql('c.grid', grid)} GROUP BY 1"
    )
    return list(session.execute(text(sql), {"grid": grid, "today": today}))


def dashboard_rectifications_due(
    session: Session, *, grid: str | None, today: dt.date, until: dt.date, limit: int
) -> list[Any]:
    """Cases in ``rectifying`` whose order's deadline is between today and ``until`` (inclusive), soonest
    first, at most ``limit``; each row carries the number of all of them (``total``)."""
    sql = (
        "SELECT c.reference, c.uscc, c.institution_name, c.grid, d.deadline, count(*) OVER () AS total"
        " FROM enforcement_case c JOIN decision d ON d.id = c.decision_id"
        " WHERE c.state = 'rectifying' AND d.deadline BETWEEN :today AND :until"
        f"{_grid_sql('c.grid', grid)} ORDER BY d.deadline, c.reference LIMIT :limit"
    )
    return list(session.execute(text(sql), {"grid": grid, "today": today, "until": until, "limit": limit}))


def dashboard_complaints(session: Session, *, grid: str | None, today: dt.date) -> tuple[int, int]:
    """(complaints awaiting triage, of which past their triage deadline)."""
    sql = (
        "SELECT count(*) AS n, count(*) FILTER (WHERE p.triage_due < :today) AS late FROM complaint p"
        f" WHERE p.status = 'new'{_grid_sql('p.grid', grid)}"
    )
    row = session.execute(text(sql), {"grid": grid, "today": today}).one()
    return int(row.n), int(row.late)


_SUBJECT_TREND_SQL = """
WITH points AS (
  SELECT p.label, p.boundary
  FROM unnest(CAST(:labels AS text[]), CAST(:boundaries AS timestamptz[])) AS p(label, boundary)
),
changes AS MATERIALIZED (
  SELECT a.id, a.entity_key AS uscc, a.at,
         lag(a.at) OVER (PARTITION BY a.entity_key ORDER BY a.at, a.id) AS prev_at,
         row_number() OVER (PARTITION BY a.entity_key ORDER BY a.at DESC, a.id DESC) AS from_last
  FROM audit_log a
  WHERE a.entity = 'institution' AND a.at >= :since
),
counted_now_changed AS MATERIALIZED (
  SELECT c.at AS last_at
  FROM changes c JOIN institution i ON i.uscc = c.uscc JOIN licence l ON l.institution_id = i.id
  WHERE c.from_last = 1 AND i.status = 'operating' AND 'subject' = ANY(l.scope_categories){grid_now}
),
firsts AS MATERIALIZED (
  SELECT c.id, c.prev_at, c.at FROM changes c
  WHERE EXISTS (SELECT 1 FROM points p
                WHERE p.boundary > coalesce(c.prev_at, '-infinity') AND p.boundary <= c.at)
),
was AS MATERIALIZED (
  SELECT f.prev_at, f.at
  FROM firsts f JOIN audit_log a ON a.id = f.id,
       LATERAL json_to_record(a.before) AS d(status text, grid text, licence json)
  WHERE a.before IS NOT NULL AND d.status = 'operating'{grid_before}
    AND coalesce((d.licence -> 'scope' -> 'categories')::jsonb ? 'subject', FALSE)
)
SELECT p.label,
       EXISTS (SELECT 1 FROM audit_log a WHERE a.entity = 'institution' AND a.at < :since) AS older,
       (SELECT min(c.at) FROM changes c) AS first_in_window,
       (SELECT count(*) FROM was w
        WHERE (w.prev_at IS NULL OR w.prev_at < p.boundary) AND w.at >= p.boundary)
       - (SELECT count(*) FROM counted_now_changed s WHERE s.last_at >= p.boundary) AS delta
FROM points p
ORDER BY p.boundary
"""


def dashboard_subject_trend(
    session: Session, *, grid: str | None, labels: list[str], boundaries: list[dt.datetime]
) -> list[tuple[str, bool, dt.datetime | None, int]]:
    """For each point (a label and the instant that ends it, oldest first) the number of institutions that
    were operating with subject training in their licence scope at that instant, less the number today,
    from the registry's audit log (see :func:`supervision.cases.dashboard.subject_trend`).

    Only the audit rows of the points' span are read, and only the documents that matter are parsed: for
    each institution, the ``before`` of its first change after each point.

    Rows: (label, whether the registry holds rows older than the first point, its first row in the span,
    the count at the point less today's)."""
    sql = _SUBJECT_TREND_SQL.format(
        grid_before=" AND d.grid = :grid" if grid is not None else "",
        grid_now=_grid_sql("i.grid", grid),
    )
    rows = session.execute(
        text(sql), {"grid": grid, "labels": labels, "boundaries": boundaries, "since": min(boundaries)}
    )
    return [(r.label, bool(r.older), r.first_in_window, int(r.delta)) for r in rows]


# ------------------------------------------------------------------------------------------ case lists


def search_cases(
    session: Session,
    *,
    today: dt.date,
    grid: str | None,
    state: str | None,
    source: str | None,
    overdue: bool | None,
    assigned_to: str | None,
    uscc: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[Case]]:
    """Cases matching the filters, overdue first, then by decision deadline and number; and how many."""
    undecided = col(Case.state).in_(UNDECIDED_STATES)
    late = undecided & (col(Case.decide_by) < today)
    conditions = []
    if grid is not None:
        conditions.append(col(Case.grid) == grid)
    if state is not None:
        conditions.append(col(Case.state) == state)
    if source is not None:
        conditions.append(col(Case.source) == source)
    if overdue is not None:
        conditions.append(late if overdue else ~late)
    if uscc is not None:
        conditions.append(col(Case.uscc) == uscc)
    if assigned_to is not None:
        user_id = select(StaffUser.id).where(StaffUser.username == assigned_to).scalar_subquery()
        conditions.append(col(Case.assigned_to) == user_id)
    total = session.exec(select(func.count()).select_from(Case).where(*conditions)).one()
    rows = session.exec(
        select(Case)
        .where(*conditions)
        .order_by(late.desc(), col(Case.closed_at).desc().nulls_first(), col(Case.decide_by), col(Case.id))
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(rows)


def search_proposals(
    session: Session, *, status: str | None, uscc: str | None, limit: int, offset: int
) -> tuple[int, list[Proposal]]:
    conditions = []
    if status is not None:
        conditions.append(col(Proposal.status) == status)
    if uscc is not None:
        conditions.append(col(Proposal.uscc) == uscc)
    total = session.exec(select(func.count()).select_from(Proposal).where(*conditions)).one()
    rows = session.exec(
        select(Proposal).where(*conditions).order_by(col(Proposal.id).desc()).limit(limit).offset(offset)
    )
    return int(total), list(rows)
