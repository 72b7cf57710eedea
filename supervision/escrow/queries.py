"""Escrow statements (SQL): reads, the writes of an accepted statement, the ledger, and API keys. Every
read that an institution can reach takes its institution id, so a statement of another institution is
simply not found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from supervision.db import raw_connection
from supervision.escrow.models import InstitutionKey
from supervision.registry.models import Institution

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


# ---------------------------------------------------------------------------------- accepting a statement


def idempotent_answer(session: Session, institution_id: int, key: str) -> Any:
    """The answer stored for an Idempotency-Key of the institution (``request_sha256``, ``status_code``,
    ``response``), or None."""
    return session.execute(
        text(
            "SELECT request_sha256, status_code, response FROM escrow_idempotency"
            " WHERE institution_id = :i AND key = :k"
        ),
        {"i": institution_id, "k": key},
    ).first()


def store_answer(
    session: Session,
    institution_id: int,
    key: str,
    *,
    request_sha256: str,
    statement_id: int,
    answer: str,
    at: Any,
) -> None:
    """Keep the answer to a submission under its Idempotency-Key (``answer``: JSON text)."""
    session.execute(
        text(
            "INSERT INTO escrow_idempotency (institution_id, key, request_sha256, statement_id, status_code,"
            " response, created_at) VALUES (:i, :k, :h, :s, 201, CAST(:r AS jsonb), :at)"
        ),
        {"i": institution_id, "k": key, "h": request_sha256, "s": statement_id, "r": answer, "at": at},
    )


def next_statement_id(session: Session) -> int:
    return int(session.execute(text("SELECT nextval('escrow_statement_id_seq')")).scalar_one())


INSERT_STATEMENT_SQL = """
INSERT INTO escrow_statement (id, institution_id, period, mode, opening_balance_fen, receipts_fen,
  released_fen, refunds_fen, closing_balance_fen, bank_reported_balance_fen, reserve_balance_fen,
  unearned_liability_fen, amends_id, line_count, source, body_sha256, submitted_at, accepted_on, submitted_by,
  reconciliation, requirement)
VALUES (:id, :institution_id, :period, :mode, :opening_balance_fen, :receipts_fen, :released_fen,
  :refunds_fen, :closing_balance_fen, :bank_reported_balance_fen, :reserve_balance_fen,
  :unearned_liability_fen, :amends_id, :line_count, :source, :body_sha256, :submitted_at, :accepted_on,
  :submitted_by, CAST(:reconciliation AS jsonb), CAST(:requirement AS jsonb))
"""


def insert_statement(session: Session, values: dict[str, Any]) -> None:
    """One ``escrow_statement`` row (columns of :data:`INSERT_STATEMENT_SQL`; the JSON ones as text)."""
    session.execute(text(INSERT_STATEMENT_SQL), values)


def copy_lines(session: Session, statement_id: int, lines: Sequence[Sequence[Any]]) -> None:
    """A statement's lines by COPY, in the text format. Refs and package codes were checked to hold no tab,
    newline or backslash, so no value needs escaping."""
    if not lines:
        return
    raw = raw_connection(session)
    prefix = f"{statement_id}\t"
    null = "\\N"
    buf = "".join(
        [
            f"{prefix}{seq}\t{d}\t{t}\t{a}\t{r}\t{p if p is not None else null}\t"
            f"{ls if ls is not None else null}\t{m if m is not None else null}\n"
            for seq, (d, t, a, r, p, ls, m) in enumerate(lines, 1)
        ]
    ).encode()
    with (
        raw.cursor() as cur,
        cur.copy(
            "COPY escrow_statement_line"
            " (statement_id, seq, date, type, amount_fen, ref, package_code, lessons, months) FROM STDIN"
        ) as cp,
    ):
        cp.write(buf)


# -------------------------------------------------------------------------------------------- the ledger


def create_accounts(session: Session, institution_id: int, kinds: Sequence[str]) -> None:
    """The institution's accounts of ``kinds`` that do not exist yet, at a zero balance."""
    session.execute(
        text(
            "INSERT INTO escrow_account (institution_id, kind, balance_fen)"
            " SELECT :i, k, 0 FROM unnest(CAST(:kinds AS text[])) AS k"
            " ON CONFLICT (institution_id, kind) DO NOTHING"
        ),
        {"i": institution_id, "kinds": list(kinds)},
    )


def accounts(session: Session, institution_id: int) -> list[Any]:
    """The institution's accounts (``kind``, ``id``)."""
    return list(
        session.execute(
            text("SELECT kind, id FROM escrow_account WHERE institution_id = :i"), {"i": institution_id}
        )
    )


def active_transactions(
    session: Session, statement_ids: Sequence[int], debited: Mapping[str, str]
) -> list[Any]:
    """Transactions in force of the statements (posted, not reversed, not a reversal), in posting order,
    each with its signed amount: its entry on the account its kind debits (``debited``: kind → account)."""
    return list(
        session.execute(
            text(
                "SELECT t.id, t.statement_id, t.kind, e.amount_fen FROM escrow_transaction t"
                " JOIN escrow_account a ON a.institution_id = t.institution_id"
                " JOIN escrow_entry e ON e.transaction_id = t.id AND e.account_id = a.id"
                " WHERE t.statement_id = ANY(:ids) AND t.reverses_id IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM escrow_transaction r WHERE r.reverses_id = t.id)"
                " AND a.kind = (CASE t.kind"
                + "".join(f" WHEN '{k}' THEN '{debit}'" for k, debit in debited.items())
                + " END) ORDER BY t.id"
            ),
            {"ids": list(statement_ids)},
        )
    )


def next_transaction_ids(session: Session, n: int) -> list[int]:
    return list(
        session.execute(
            text("SELECT nextval('escrow_transaction_id_seq') FROM generate_series(1, :n)"), {"n": n}
        ).scalars()
    )


def insert_transactions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Transactions (``id``, ``i`` institution, ``s`` statement, ``k`` kind, ``r`` reverses, ``at``,
    ``m`` memo)."""
    session.execute(
        text(
            "INSERT INTO escrow_transaction"
            " (id, institution_id, statement_id, kind, reverses_id, posted_at, memo)"
            " VALUES (:id, :i, :s, :k, :r, :at, :m)"
        ),
        rows,
    )


def insert_entries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Entries (``t`` transaction, ``i`` institution, ``a`` account, ``v`` signed amount)."""
    session.execute(
        text(
            "INSERT INTO escrow_entry (transaction_id, institution_id, account_id, amount_fen)"
            " VALUES (:t, :i, :a, :v)"
        ),
        rows,
    )


def move_balances(session: Session, changes: list[dict[str, int]]) -> None:
    """Add ``d`` to the stored balance of account ``a``, for each change."""
    session.execute(text("UPDATE escrow_account SET balance_fen = balance_fen + :d WHERE id = :a"), changes)


def account_balances(session: Session, institution_id: int) -> list[Any]:
    """Each account of the institution: ``kind``, stored ``balance_fen`` and ``recomputed`` from entries."""
    return list(
        session.execute(
            text(
                "SELECT a.kind, a.balance_fen, coalesce(sum(e.amount_fen), 0)::bigint AS recomputed"
                " FROM escrow_account a LEFT JOIN escrow_entry e ON e.account_id = a.id"
                " WHERE a.institution_id = :i GROUP BY a.id ORDER BY a.id"
            ),
            {"i": institution_id},
        )
    )


# ---------------------------------------------------------------------------- verifying the whole ledger

_UNBALANCED_SQL = """
SELECT t.id, count(e.id) AS n, coalesce(sum(e.amount_fen), 0) AS total
  FROM escrow_transaction t LEFT JOIN escrow_entry e ON e.transaction_id = t.id
 GROUP BY t.id HAVING count(e.id) < 2 OR coalesce(sum(e.amount_fen), 0) <> 0
"""
_BAD_REVERSALS_SQL = """
SELECT r.id, r.reverses_id FROM escrow_transaction r JOIN escrow_transaction o ON o.id = r.reverses_id
 WHERE r.kind <> o.kind OR r.statement_id <> o.statement_id OR o.reverses_id IS NOT NULL
    OR EXISTS (SELECT 1 FROM escrow_entry e WHERE e.transaction_id IN (r.id, o.id)
               GROUP BY e.account_id HAVING sum(e.amount_fen) <> 0)
"""
_BALANCES_SQL = """
SELECT a.id, a.institution_id, a.kind, a.balance_fen, coalesce(sum(e.amount_fen), 0)::bigint AS recomputed
  FROM escrow_account a LEFT JOIN escrow_entry e ON e.account_id = a.id GROUP BY a.id
"""
_LINE_TOTALS_SQL = """
SELECT s.id, s.receipts_fen, s.released_fen, s.refunds_fen, s.line_count,
       x.n, x.receipts, x.released, x.refunds, x.distinct_refs
  FROM escrow_statement s LEFT JOIN LATERAL (
    SELECT count(*) AS n, count(DISTINCT ref) AS distinct_refs,
           coalesce(sum(amount_fen) FILTER (WHERE type = 'receipt'), 0) AS receipts,
           coalesce(sum(amount_fen) FILTER (WHERE type = 'release'), 0) AS released,
           coalesce(sum(amount_fen) FILTER (WHERE type = 'refund'), 0) AS refunds
      FROM escrow_statement_line l WHERE l.statement_id = s.id) x ON TRUE
"""
_STATEMENTS_SQL = """
SELECT s.id, s.institution_id, s.period, s.opening_balance_fen, s.receipts_fen, s.released_fen, s.refunds_fen,
       s.closing_balance_fen, s.unearned_liability_fen, s.reserve_balance_fen,
       NOT EXISTS (SELECT 1 FROM escrow_statement n WHERE n.amends_id = s.id) AS head
  FROM escrow_statement s ORDER BY s.institution_id, s.period, s.id
"""


def count_transactions(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM escrow_transaction")).scalar_one())


def count_entries(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM escrow_entry")).scalar_one())


def unbalanced_transactions(session: Session) -> list[Any]:
    return list(session.execute(text(_UNBALANCED_SQL)))


def bad_reversals(session: Session) -> list[Any]:
    return list(session.execute(text(_BAD_REVERSALS_SQL)))


def all_account_balances(session: Session) -> list[Any]:
    return list(session.execute(text(_BALANCES_SQL)))


def statement_line_totals(session: Session) -> list[Any]:
    return list(session.execute(text(_LINE_TOTALS_SQL)))


def all_statements(session: Session) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(text(_STATEMENTS_SQL))]


# -------------------------------------------------------------------------------- API keys and the portal


def institution_row(session: Session, uscc: str) -> Institution | None:
    return session.exec(select(Institution).where(Institution.uscc == uscc)).first()


def key_by_public_id(session: Session, public_id: str) -> InstitutionKey | None:
    return session.exec(select(InstitutionKey).where(InstitutionKey.public_id == public_id)).first()


def keys_with_uscc(session: Session, uscc: str | None) -> list[tuple[InstitutionKey, str]]:
    """Keys with their institution's credit code (of one institution if ``uscc``), newest first."""
    query = (
        select(InstitutionKey, Institution.uscc)
        .join(Institution, Institution.id == InstitutionKey.institution_id)  # type: ignore[arg-type]
        .order_by(InstitutionKey.id.desc())  # type: ignore[union-attr]
    )
    if uscc:
        query = query.where(Institution.uscc == uscc)
    return [(k, u) for k, u in session.exec(query).all()]


_HOLDER_SQL = """
SELECT k.id AS key_id, k.public_id, k.secret_sha256, k.expires_at, k.revoked_at,
       i.id AS institution_id, i.uscc, i.name
  FROM institution_key k JOIN institution i ON i.id = k.institution_id
"""


def key_holder(session: Session, public_id: str) -> Any:
    """A key (its hash, expiry, revocation) with its institution, or None."""
    return session.execute(text(_HOLDER_SQL + " WHERE k.public_id = :p"), {"p": public_id}).first()


def portal_session_holder(
    session: Session, token_sha256: str, now: dt.datetime, idle_since: dt.datetime
) -> Any:
    """The key and institution of a portal session in force (used after ``idle_since``), or None."""
    return session.execute(
        text(
            "SELECT s.id AS session_id, s.last_seen_at, k.id AS key_id, k.public_id, i.id AS institution_id,"
            " i.uscc, i.name"
            " FROM portal_session s JOIN institution_key k ON k.id = s.key_id"
            " JOIN institution i ON i.id = k.institution_id"
            " WHERE s.token_sha256 = :t AND s.revoked_at IS NULL AND s.expires_at > :now"
            " AND s.last_seen_at > :idle AND k.revoked_at IS NULL AND k.expires_at > :now"
        ),
        {"t": token_sha256, "now": now, "idle": idle_since},
    ).first()


def touch_portal_session(session: Session, session_id: int, now: dt.datetime) -> None:
    session.execute(
        text("UPDATE portal_session SET last_seen_at = :now WHERE id = :id AND last_seen_at < :now"),
        {"now": now, "id": session_id},
    )


def purge_portal_sessions(session: Session, *, now: dt.datetime, idle_since: dt.datetime) -> int:
    """Delete the portal sessions that have ended (revoked, past their end, idle since ``idle_since``)."""
    result = session.execute(
        text(
            "DELETE FROM portal_session WHERE revoked_at IS NOT NULL OR expires_at <= :now"
            " OR last_seen_at <= :idle"
        ),
        {"now": now, "idle": idle_since},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_portal_session(session: Session, token_sha256: str, now: dt.datetime) -> None:
    session.execute(
        text("UPDATE portal_session SET revoked_at = :now WHERE token_sha256 = :t AND revoked_at IS NULL"),
        {"now": now, "t": token_sha256},
    )
