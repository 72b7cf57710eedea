"""The escrow ledger (监管资金分户账): double entry in integer fen, append-only, checked at commit.

Each institution has nine accounts. Amounts are signed: a debit is positive, a credit negative, and the
entries of every transaction sum to zero (a database constraint trigger checks it when the transaction
commits, and that each account's stored balance equals the sum of its entries).

| account              | what its balance is                                                     |
|----------------------|-------------------------------------------------------------------------|
| ``supervised_cash``  | money in the supervised account: the latest statement's closing balance |
| ``brought_forward``  | (credit) balances carried in: the first opening, and any break between   |
|                      | a statement's opening and the previous month's closing                  |
| ``received``         | (credit) prepaid money received from families, cumulative               |
| ``released``         | money released to the institution for lessons given, cumulative         |
| ``refunded``         | money refunded to families, cumulative                                  |
| ``unearned_liability`` | (credit) prepaid money for lessons not yet given, as last reported    |
| ``liability_changes``| the other side of each reported change of that liability               |
| ``risk_reserve``     | the risk reserve deposited, as last reported                            |
| ``reserve_deposits`` | (credit) the other side of each reported change of the reserve         |

A statement posts one transaction per movement type, never per line (line detail stays in the lines table):
*flows* from its own figures (receipts, releases, refunds) and *carries* relative to the statement of the
period before it (opening difference, liability change, reserve change). So after any sequence of
statements, supervised cash equals the latest closing balance and the liability and reserve equal the
latest reported ones. A correction reverses the replaced statement's transactions, posts the new ones, and
re-posts the carries of the following statement (whose predecessor changed). Nothing is ever updated or
deleted: a reversal is a new transaction that negates one, and a transaction is reversed at most once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from supervision.escrow import queries
from supervision.escrow.models import ACCOUNT_KINDS

ACCOUNT_NAMES: dict[str, tuple[str, str]] = {
    "supervised_cash": ("监管账户资金", "supervised cash"),
    "brought_forward": ("期初结转及差额", "brought forward and opening differences"),
    "received": ("累计预收", "prepaid money received"),
    "released": ("累计划拨机构", "released to the institution"),
    "refunded": ("累计退费", "refunded to families"),
    "unearned_liability": ("未消课预收费负债", "unearned prepaid liability"),
    "liability_changes": ("负债变动", "liability changes (contra)"),
    "risk_reserve": ("风险保证金", "risk reserve"),
    "reserve_deposits": ("保证金缴存", "reserve deposits (contra)"),
}

LEGS: dict[str, tuple[str, str]] = {
    "opening": ("supervised_cash", "brought_forward"),
    "receipts": ("supervised_cash", "received"),
    "releases": ("released", "supervised_cash"),
    "refunds": ("refunded", "supervised_cash"),
    "liability": ("liability_changes", "unearned_liability"),
    "reserve": ("risk_reserve", "reserve_deposits"),
}
"""Transaction kind → (account debited, account credited) for a positive amount."""

FLOW_KINDS = ("receipts", "releases", "refunds")
CARRY_KINDS = ("opening", "liability", "reserve")
KIND_NAMES = {
    "opening": "期初差额",
    "receipts": "收款",
    "releases": "划拨",
    "refunds": "退费",
    "liability": "负债变动",
    "reserve": "保证金变动",
}


def flows(statement: Mapping[str, Any]) -> dict[str, int]:
    return {
        "receipts": int(statement["receipts_fen"]),
        "releases": int(statement["released_fen"]),
        "refunds": int(statement["refunds_fen"]),
    }


def carries(statement: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, int]:
    """What a statement adds to the balances carried from the statement of the period before it."""
    prev_closing = int(previous["closing_balance_fen"]) if previous else 0
    prev_liability = int(previous["unearned_liability_fen"]) if previous else 0
    prev_reserve = int(previous["reserve_balance_fen"] or 0) if previous else 0
    return {
        "opening": int(statement["opening_balance_fen"]) - prev_closing,
        "liability": int(statement["unearned_liability_fen"]) - prev_liability,
        "reserve": int(statement["reserve_balance_fen"] or 0) - prev_reserve,
    }


def ensure_accounts(session: Session, institution_id: int) -> dict[str, int]:
    """The institution's accounts (created on first use): kind → id."""
    queries.create_accounts(session, institution_id, ACCOUNT_KINDS)
    rows = queries.accounts(session, institution_id)
    return {r.kind: r.id for r in rows}


@dataclass(frozen=True)
class Active:
    """A transaction in force (posted, not reversed, not itself a reversal) and its signed amount."""

    id: int
    statement_id: int
    kind: str
    amount: int


def active(session: Session, statement_ids: Sequence[int]) -> list[Active]:
    """Transactions in force for the given statements, in posting order."""
    if not statement_ids:
        return []
    rows = queries.active_transactions(session, statement_ids, {k: debit for k, (debit, _) in LEGS.items()})
    return [Active(r.id, r.statement_id, r.kind, r.amount_fen) for r in rows]


@dataclass
class Posting:
    """Transactions to write, in order: each (statement id, kind, signed amount, memo, reverses id)."""

    items: list[tuple[int, str, int, str, int | None]] = field(default_factory=list)

    def post(self, statement_id: int, kind: str, amount: int, memo: str) -> None:
        if amount:
            self.items.append((statement_id, kind, amount, memo, None))

    def reverse(self, txn: Active, memo: str) -> None:
        self.items.append((txn.statement_id, txn.kind, -txn.amount, memo, txn.id))


def write(
    session: Session, institution_id: int, posting: Posting, accounts: Mapping[str, int], now: dt.datetime
) -> list[int]:
    """Write the transactions and their entries, and move the stored balances; returns the new ids."""
    if not posting.items:
        return []
    ids = queries.next_transaction_ids(session, len(posting.items))
    txn_rows = []
    entry_rows = []
    deltas: dict[int, int] = defaultdict(int)
    for txn_id, (statement_id, kind, amount, memo, reverses) in zip(ids, posting.items, strict=True):
        txn_rows.append(
            {
                "id": txn_id,
                "i": institution_id,
                "s": statement_id,
                "k": kind,
                "r": reverses,
                "at": now,
                "m": memo,
            }
        )
        debit, credit = LEGS[kind]
        for account, signed in ((accounts[debit], amount), (accounts[credit], -amount)):
            entry_rows.append({"t": txn_id, "i": institution_id, "a": account, "v": signed})
            deltas[account] += signed
    queries.insert_transactions(session, txn_rows)
    queries.insert_entries(session, entry_rows)
    changed = [{"a": a, "d": d} for a, d in sorted(deltas.items()) if d]
    if changed:
        queries.move_balances(session, changed)
    return ids


def plan(
    *,
    statement: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    following: Mapping[str, Any] | None,
    replaced: Iterable[Active],
    following_active: Iterable[Active],
) -> Posting:
    """The posting for accepting ``statement``: reversals of the statement it replaces, its own flows and
    carries, then the carries of the following statement re-posted where its predecessor changed them."""
    posting = Posting()
    sid = int(statement["id"])
    for txn in replaced:
        posting.reverse(txn, f"冲销：报表{txn.statement_id}已被报表{sid}更正")
    for kind, amount in flows(statement).items():
        posting.post(sid, kind, amount, f"{statement['period']} {KIND_NAMES[kind]}")
    for kind, amount in carries(statement, previous).items():
        posting.post(sid, kind, amount, f"{statement['period']} {KIND_NAMES[kind]}")
    if following is not None:
        fid = int(following["id"])
        want = carries(following, statement)
        have = {t.kind: t for t in following_active if t.kind in CARRY_KINDS}
        for kind in CARRY_KINDS:
            old = have.get(kind)
            if (old.amount if old else 0) == want[kind]:
                continue
            if old is not None:
                posting.reverse(old, f"冲销：{following['period']}的上期已变为报表{sid}")
            posting.post(
                fid, kind, want[kind], f"{following['period']} {KIND_NAMES[kind]}（上期为报表{sid}）"
            )
    return posting


def balances(session: Session, institution_id: int) -> list[dict[str, Any]]:
    """Each account's stored balance beside the balance recomputed from its entries."""
    rows = queries.account_balances(session, institution_id)
    order = {k: n for n, k in enumerate(ACCOUNT_KINDS)}
    out = [
        {
            "kind": r.kind,
            "name_zh": ACCOUNT_NAMES[r.kind][0],
            "name_en": ACCOUNT_NAMES[r.kind][1],
            "balance_fen": r.balance_fen,
            "recomputed_fen": r.recomputed,
        }
        for r in rows
    ]
    out.sort(key=lambda b: order[b["kind"]])
    return out


# ------------------------------------------------------------------------------------------------ verify


@dataclass
class Verification:
    """The result of checking every invariant over the whole ledger (``supervision escrow verify``)."""

    problems: list[str] = field(default_factory=list)
    institutions: int = 0
    statements: int = 0
    transactions: int = 0
    entries: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> Verification:
    """Check every invariant of the ledger and the statements behind it; list every breach found."""
    out = Verification()
    p = out.problems
    out.transactions = queries.count_transactions(session)
    out.entries = queries.count_entries(session)
    for r in queries.unbalanced_transactions(session):
        p.append(f"transaction {r.id}: {r.n} entries summing to {r.total} fen (must be >= 2 summing to 0)")
    for r in queries.bad_reversals(session):
        p.append(f"transaction {r.id} does not exactly reverse transaction {r.reverses_id}")
    stored: dict[int, dict[str, int]] = defaultdict(dict)
    for r in queries.all_account_balances(session):
        stored[r.institution_id][r.kind] = r.balance_fen
        if r.balance_fen != r.recomputed:
            p.append(
                f"account {r.id} ({r.kind}, institution {r.institution_id}): stored balance {r.balance_fen}"
                f" differs from its entries {r.recomputed}"
            )
    for r in queries.statement_line_totals(session):
        if (r.receipts, r.released, r.refunds) != (r.receipts_fen, r.released_fen, r.refunds_fen):
            p.append(
                f"statement {r.id}: lines sum to receipts {r.receipts}, released {r.released}, refunds "
                f"{r.refunds} but the statement says {r.receipts_fen}, {r.released_fen}, {r.refunds_fen}"
            )
        if r.n != r.line_count:
            p.append(f"statement {r.id}: {r.n} lines stored, {r.line_count} declared")
        if r.distinct_refs != r.n:
            p.append(f"statement {r.id}: {r.n - r.distinct_refs} duplicate line refs")
    statements = queries.all_statements(session)
    out.statements = len(statements)
    by_institution: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in statements:
        by_institution[s["institution_id"]].append(s)
    out.institutions = len(by_institution)
    in_force: dict[int, dict[str, int]] = defaultdict(dict)
    for txn in active(session, [s["id"] for s in statements]):
        key = txn.kind
        if key in in_force[txn.statement_id]:
            p.append(f"statement {txn.statement_id}: two {txn.kind} transactions in force")
        in_force[txn.statement_id][key] = txn.amount
    for institution_id, rows in by_institution.items():
        _verify_institution(institution_id, rows, in_force, stored.get(institution_id, {}), p)
    return out


def _verify_institution(
    institution_id: int,
    rows: list[dict[str, Any]],
    in_force: Mapping[int, Mapping[str, int]],
    stored: Mapping[str, int],
    p: list[str],
) -> None:
    heads = [s for s in rows if s["head"]]
    periods = [s["period"] for s in heads]
    for period in sorted({s["period"] for s in rows}):
        n = periods.count(period)
        if n != 1:
            p.append(f"institution {institution_id}, {period}: {n} statements in force (must be exactly 1)")
    for s in rows:
        if not s["head"] and in_force.get(s["id"]):
            p.append(f"superseded statement {s['id']} still has transactions in force")
    previous: dict[str, Any] | None = None
    expected: dict[str, int] = defaultdict(int)
    for s in heads:
        want = {k: v for k, v in {**flows(s), **carries(s, previous)}.items() if v}
        have = dict(in_force.get(s["id"], {}))
        if want != have:
            p.append(f"statement {s['id']} ({s['period']}): transactions in force {have}, expected {want}")
        for kind, amount in want.items():
            debit, credit = LEGS[kind]
            expected[debit] += amount
            expected[credit] -= amount
        previous = s
    if heads:
        last = heads[-1]
        if expected["supervised_cash"] != last["closing_balance_fen"]:
            p.append(
                f"institution {institution_id}: supervised cash would be {expected['supervised_cash']}, "
                f"the latest closing balance is {last['closing_balance_fen']}"
            )
    for kind in ACCOUNT_KINDS:
        if stored.get(kind, 0) != expected.get(kind, 0):
            p.append(
                f"institution {institution_id}: {kind} balance {stored.get(kind, 0)}, "
                f"expected {expected.get(kind, 0)} from the statements in force"
            )
