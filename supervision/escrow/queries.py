"""Escrow reads. Every read that an institution can reach takes its institution id, so a statement of
another institution is simply not found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import Session

SUMMARY_COLUMNS = (
    "s.id, s.institution_id, s.period, s.mode, s.opening_balance_fen, s.receipts_fen, s.released_fen,"
    " s.refunds_fen, s.closing_balance_fen, s.bank_reported_balance_fen, s.reserve_balance_fen,"
    " s.unearned_liability_fen, s.amends_id"
)
_VIEW_SQL = f"""
SELECT {SUMMARY_COLUMNS}, s.source, s.line_count, s.submitted_at, s.accepted_on, s.reconciliation,
       s.requirement, coalesce(k.response->'findings', '[]') AS findings, n.id AS superseded_by
  FROM escrow_statement s LEFT JOIN escrow_statement n ON n.amends_id = s.id
  LEFT JOIN escrow_idempotency k ON k.statement_id = s.id
"""
_HEAD = "NOT EXISTS (SELECT 1 FROM escrow_statement n WHERE n.amends_id = s.id)"


def lock_institution(session: Session, institution_id: int) -> None:
    """Serialise statement submissions of one institution until the transaction ends (others wait)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('escrow-statements', :i))"), {"i": institution_id}
    )


def heads(session: Session, institution_id: int) -> list[dict[str, Any]]:
    """The institution's statements in force (one per period, the last of each correction chain)."""
    rows = session.execute(
        text(
            f"SELECT {SUMMARY_COLUMNS} FROM escrow_statement s WHERE s.institution_id = :i AND {_HEAD}"
            " ORDER BY s.period"
        ),
        {"i": institution_id},
    )
    return [dict(r._mapping) for r in rows]


def own_statement(session: Session, institution_id: int, statement_id: int) -> dict[str, Any] | None:
    """A statement with its status, only if it belongs to ``institution_id``."""
    row = session.execute(
        text(_VIEW_SQL + " WHERE s.id = :s AND s.institution_id = :i"),
        {"s": statement_id, "i": institution_id},
    ).first()
    return _view(row._mapping) if row else None


def statement(session: Session, statement_id: int) -> dict[str, Any] | None:
    """A statement with its status (staff)."""
    row = session.execute(text(_VIEW_SQL + " WHERE s.id = :s"), {"s": statement_id}).first()
    return _view(row._mapping) if row else None


def _view(m: Any) -> dict[str, Any]:
    d = dict(m)
    d["amends"] = d.pop("amends_id")
    d["status"] = "superseded" if d["superseded_by"] is not None else "accepted"
    return d


def statements(
    session: Session, institution_id: int, *, limit: int, offset: int, period: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """An institution's statements, newest period first, each correction after what it corrects."""
    where = "s.institution_id = :i" + (" AND s.period = :p" if period else "")
    params: dict[str, Any] = {"i": institution_id, "p": period}
    total = session.execute(
        text(f"SELECT count(*) FROM escrow_statement s WHERE {where}"), params
    ).scalar_one()
    rows = session.execute(
        text(_VIEW_SQL + f" WHERE {where} ORDER BY s.period DESC, s.id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset},
    )
    return total, [_view(r._mapping) for r in rows]


def lines(
    session: Session, statement_id: int, *, limit: int, offset: int, type_: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    where = "statement_id = :s" + (" AND type = :t" if type_ else "")
    params: dict[str, Any] = {"s": statement_id, "t": type_}
    total = session.execute(
        text(f"SELECT count(*) FROM escrow_statement_line WHERE {where}"), params
    ).scalar_one()
    rows = session.execute(
        text(
            "SELECT seq, date, type, amount_fen, ref, package_code, lessons, months"
            f" FROM escrow_statement_line WHERE {where} ORDER BY seq LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return total, [dict(r._mapping) for r in rows]


def transactions(
    session: Session, institution_id: int, *, limit: int, offset: int, statement_id: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Ledger transactions (of one statement, or all), newest first, with their entries and the supervised
    cash after each."""
    where = "t.institution_id = :i" + (" AND t.statement_id = :s" if statement_id is not None else "")
    params: dict[str, Any] = {"i": institution_id, "s": statement_id}
    total = session.execute(
        text(f"SELECT count(*) FROM escrow_transaction t WHERE {where}"), params
    ).scalar_one()
    rows = session.execute(
        text(
            f"""
SELECT t.id, t.statement_id, s.period, t.kind, t.reverses_id, r.id AS reversed_by, t.posted_at, t.memo,
       (SELECT json_agg(json_build_object('account', a.kind, 'amount_fen', e.amount_fen) ORDER BY e.id)
          FROM escrow_entry e JOIN escrow_account a ON a.id = e.account_id WHERE e.transaction_id = t.id)
         AS entries,
       (SELECT coalesce(sum(e.amount_fen), 0)
          FROM escrow_entry e JOIN escrow_account a ON a.id = e.account_id
         WHERE a.institution_id = t.institution_id AND a.kind = 'supervised_cash'
           AND e.transaction_id <= t.id)::bigint AS cash_after_fen
  FROM escrow_transaction t
  JOIN escrow_statement s ON s.id = t.statement_id
  LEFT JOIN escrow_transaction r ON r.reverses_id = t.id
 WHERE {where}
 ORDER BY t.id DESC LIMIT :limit OFFSET :offset
"""
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return total, [dict(r._mapping) for r in rows]


def series(session: Session, institution_id: int) -> list[dict[str, Any]]:
    """Per period in force: balances reported, the liability, the supervised money and what was required."""
    rows = session.execute(
        text(
            f"SELECT s.id, s.period, s.mode, s.closing_balance_fen, s.bank_reported_balance_fen,"
            " s.reserve_balance_fen, s.unearned_liability_fen,"
            " (s.requirement->>'required_fen')::bigint AS required_fen,"
            " (s.requirement->>'supervised_fen')::bigint AS supervised_fen,"
            " (s.reconciliation->>'ok')::boolean AS reconciled"
            f" FROM escrow_statement s WHERE s.institution_id = :i AND {_HEAD} ORDER BY s.period"
        ),
        {"i": institution_id},
    )
    return [dict(r._mapping) for r in rows]


def institution_by_uscc(session: Session, uscc: str) -> dict[str, Any] | None:
    row = session.execute(
        text("SELECT id, uscc, name, escrow_mode, status FROM institution WHERE uscc = :u"), {"u": uscc}
    ).first()
    return dict(row._mapping) if row else None


def overview(session: Session, *, q: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """Institutions that have filed statements, with their latest statement in force and its result."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    where = "TRUE"
    if q:
        where = "(i.uscc = upper(:q) OR i.name LIKE :like)"
        params.update(q=q.strip(), like=f"%{q.strip()}%")
    base = f"""
FROM institution i
JOIN LATERAL (
  SELECT s.id, s.period, s.mode, s.closing_balance_fen, s.unearned_liability_fen,
         (s.requirement->>'shortfall_fen')::bigint AS shortfall_fen, (s.reconciliation->>'ok')::boolean AS ok,
         (SELECT jsonb_array_length(coalesce(k.response->'findings', '[]')) FROM escrow_idempotency k
           WHERE k.statement_id = s.id) AS findings
    FROM escrow_statement s WHERE s.institution_id = i.id AND {_HEAD}
   ORDER BY s.period DESC LIMIT 1) last ON TRUE
WHERE {where}
"""
    total = session.execute(text("SELECT count(*) " + base), params).scalar_one()
    rows = session.execute(
        text(
            "SELECT i.uscc, i.name, i.escrow_mode, last.id AS statement_id, last.period, last.mode,"
            " last.closing_balance_fen, last.unearned_liability_fen, last.shortfall_fen, last.ok,"
            " last.findings,"
            " (SELECT count(*) FROM escrow_statement s WHERE s.institution_id = i.id) AS statements "
            + base
            + " ORDER BY last.ok, last.period DESC, i.name LIMIT :limit OFFSET :offset"
        ),
        params,
    )
    return total, [dict(r._mapping) for r in rows]


def open_findings(session: Session, institution_id: int) -> list[dict[str, Any]]:
    """Findings of the compliance area still open for the institution (stored by rule runs)."""
    rows = session.execute(
        text(
            "SELECT rule_id, rule_version, severity, subject, message_zh, message_en, legal_basis, trace,"
            " first_seen_on FROM finding WHERE institution_id = :i AND status = 'open'"
            " ORDER BY array_position(ARRAY['critical','major','minor','notice'], severity), rule_id, subject"
        ),
        {"i": institution_id},
    )
    return [dict(r._mapping) for r in rows]
