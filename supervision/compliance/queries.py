"""Compliance reads and writes in SQL: the statements of institutions, the finding lifecycle as set-based
statements, and the searches behind the API and the console. (The facts of a range of institutions, read
by pool workers, are in :mod:`supervision.compliance.facts`.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from supervision.compliance import facts
from supervision.db import raw_connection


def statements_for(
    session: Session,
    institution_ids: Sequence[int],
    known_lines: Mapping[int, Sequence[Sequence[Any]]] | None = None,
    as_of: dt.date | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """The accepted, not superseded escrow statements of each institution (资金监管报表), as the rules read
    them (:func:`facts.statement`: the summary with ``id`` and ``amends``, and the receipt lines), by period.
    Institutions without any get an empty list: the service tracks statements, so "none" is a fact the rules
    may report (FEE-STATEMENT-MISSING). ``known_lines``: lines the caller already holds, by statement id (a
    statement it has just stored), used instead of reading them back. ``as_of``: the date of the evaluation,
    whose latest statement (the latest period up to it) is read whole.

    :func:`facts.read_statements` is the only place that reads the escrow tables for the rules.
    """
    ids = list(institution_ids)
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    with raw_connection(session).cursor() as cur:
        out.update(
            facts.read_statements(cur, "s.institution_id = ANY(%(ids)s)", {"ids": ids}, known_lines, as_of)
        )
    return out


def no_jit(session: Session) -> None:
    """No JIT compilation for the rest of the transaction: the documents' query is costed high but runs in
    tens of milliseconds per range; compiling it took longer than running it."""
    session.execute(text("SET LOCAL jit = off"))


def institution_ids(session: Session) -> list[int]:
    """Every institution id, ascending: the scope of a full run and the boundaries of its batches."""
    with raw_connection(session).cursor() as cur:
        cur.execute("SELECT id FROM institution ORDER BY id")
        return [r[0] for r in cur.fetchall()]


def institution_id(session: Session, uscc: str) -> int | None:
    row = session.execute(text("SELECT id FROM institution WHERE uscc = :u"), {"u": uscc}).first()
    return int(row.id) if row else None


def institution_names(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """id → (uscc, name)."""
    rows = session.execute(
        text("SELECT id, uscc, name FROM institution WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )
    return {r.id: (r.uscc, r.name) for r in rows}


# ---------------------------------------------------------------------------------------- the lifecycle

STAGE_COLUMNS = (
    "institution_id bigint, rule_id text, rule_version integer, severity text, subject text,"
    " message_zh text, message_en text, legal_basis text, trace json, digest text"
)
STAGE_NAMES = (
    "institution_id, rule_id, rule_version, severity, subject, message_zh, message_en, legal_basis, trace,"
    " digest"
)
NEW_FINDING_COLUMNS = "status text, first_seen_on date, first_run_id bigint, updated_run_id bigint"
FINDING_COPY_NAMES = f"{STAGE_NAMES}, status, first_seen_on, first_run_id, updated_run_id"
"""The columns of a full run's finding rows (COPY text from the workers): the staged ones and those a new
finding gets, so that a range with nothing to compare against goes straight into ``finding``."""
TIER_COPY_NAMES = "institution_id, tier, because, changed_at"
CREATE_STAGE = [
    "DROP TABLE IF EXISTS pg_temp.finding_stage",
    "DROP TABLE IF EXISTS pg_temp.tier_stage",
    "DROP TABLE IF EXISTS pg_temp.run_scope",
    f"CREATE TEMP TABLE finding_stage ({STAGE_COLUMNS}, {NEW_FINDING_COLUMNS}) ON COMMIT DROP",
    "CREATE INDEX ON finding_stage (institution_id, rule_id, subject)",
    "CREATE TEMP TABLE tier_stage (institution_id bigint, tier text, because text[], changed_at timestamptz)"
    " ON COMMIT DROP",
    "CREATE TEMP TABLE run_scope (institution_id bigint PRIMARY KEY) ON COMMIT DROP",
]
"""A full run's scratch tables: the findings and the tiers of a range (COPYed in), and the institutions it
evaluated."""


def create_stage(session: Session, ids: Sequence[int]) -> None:
    """A full run's scratch tables, the run's scope (``ids``) copied in."""
    no_jit(session)
    for stmt in CREATE_STAGE:
        session.execute(text(stmt))
    with (
        raw_connection(session).cursor() as cur,
        cur.copy("COPY run_scope (institution_id) FROM STDIN") as cp,
    ):
        cp.write("".join(f"{i}\n" for i in ids).encode())


def stage_findings(session: Session, copy_text: bytes, *, analyze: bool) -> None:
    """Put one range's findings (``FINDING_COPY_NAMES`` columns, COPY text format) in the stage, replacing the
    previous range's. Temporary tables are not analysed automatically: ``analyze`` the first range; the
    statistics stay valid for the next ones (the same kind of rows; their number the planner takes from the
    table's size), and analysing every range cost more than writing it."""
    with raw_connection(session).cursor() as cur:
        cur.execute("TRUNCATE finding_stage")
        if copy_text:
            with cur.copy(f"COPY finding_stage ({FINDING_COPY_NAMES}) FROM STDIN") as cp:
                cp.write(copy_text)
        if analyze:
            cur.execute("ANALYZE finding_stage")


def insert_findings(session: Session, copy_text: bytes) -> None:
    """COPY new findings (``FINDING_COPY_NAMES`` columns) straight into ``finding``: a range of a full run
    whose institutions have no open finding and are all in its scope (nothing to resolve, refresh or keep)."""
    if copy_text:
        with (
            raw_connection(session).cursor() as cur,
            cur.copy(f"COPY finding ({FINDING_COPY_NAMES}) FROM STDIN") as cp,
        ):
            cp.write(copy_text)


def staged_by_rule(session: Session) -> dict[str, int]:
    """Staged findings per rule, of the institutions still in scope (when some were left out)."""
    rows = session.execute(
        text(
            "SELECT rule_id, count(*) AS n FROM finding_stage"
            " WHERE institution_id IN (SELECT institution_id FROM run_scope) GROUP BY rule_id"
        )
    )
    return {r.rule_id: r.n for r in rows}


BULK_STAGE = "finding_stage"
BULK_SCOPE = "SELECT institution_id FROM run_scope WHERE institution_id > :lo AND institution_id <= :hi"
"""The institutions of one range still in a full run's scope."""
ONE_STAGE = f"(SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x({STAGE_COLUMNS}))"
ONE_SCOPE = "SELECT CAST(:hi AS bigint)"
"""One institution, ``:hi``, with ``:lo`` = ``:hi`` - 1."""

# The open findings of ``{scope}`` that ``{stage}`` does not hold are resolved (one re-evaluated institution;
# a full run's workers name those gone, ``_RESOLVE_GONE_SQL``).
_RESOLVE_SQL = """
WITH gone AS (
  UPDATE finding f SET status = 'resolved', resolved_on = :as_of, resolved_run_id = :run
  WHERE f.status = 'open' AND f.institution_id > :lo AND f.institution_id <= :hi
    AND f.institution_id IN ({scope})
    AND NOT EXISTS (SELECT 1 FROM {stage} g WHERE g.institution_id = f.institution_id
                    AND g.rule_id = f.rule_id AND g.subject = f.subject)
  RETURNING f.rule_id)
SELECT rule_id, count(*) AS n FROM gone GROUP BY rule_id
"""
# Unchanged findings are left out before the insert (a full run's workers already send only the key of those
# they saw stored unchanged, ``digest IS NULL``; the check against the table stands all the same): ON CONFLICT
# … DO UPDATE … WHERE locks every conflicting row even when it does not update it, which would write a lock
# into every open finding on every run.
_UPSERT_SQL = """
WITH written AS (
  INSERT INTO finding AS f (institution_id, rule_id, rule_version, severity, subject, message_zh, message_en,
      legal_basis, trace, digest, status, first_seen_on, first_run_id, updated_run_id)
  SELECT g.institution_id, g.rule_id, g.rule_version, g.severity, g.subject, g.message_zh, g.message_en,
      g.legal_basis, g.trace, g.digest, 'open', :as_of, :run, :run
  FROM {stage} g WHERE g.digest IS NOT NULL AND g.institution_id IN ({scope})
    AND NOT EXISTS (SELECT 1 FROM finding o WHERE o.status = 'open'
                    AND o.institution_id > :lo AND o.institution_id <= :hi
                    AND o.institution_id = g.institution_id AND o.rule_id = g.rule_id
                    AND o.subject = g.subject AND o.digest = g.digest)
  ON CONFLICT (institution_id, rule_id, subject) WHERE status = 'open'
  DO UPDATE SET rule_version = EXCLUDED.rule_version, severity = EXCLUDED.severity,
      message_zh = EXCLUDED.message_zh, message_en = EXCLUDED.message_en,
      legal_basis = EXCLUDED.legal_basis, trace = EXCLUDED.trace, digest = EXCLUDED.digest,
      updated_run_id = EXCLUDED.updated_run_id
  WHERE f.digest <> EXCLUDED.digest
  RETURNING f.rule_id, (f.xmax = 0) AS inserted)
SELECT rule_id, count(*) FILTER (WHERE inserted) AS opened, count(*) FILTER (WHERE NOT inserted) AS refreshed
FROM written GROUP BY rule_id
"""


def apply_institution_lifecycle(
    session: Session, *, institution_id: int, rows: str, run_id: int, as_of: dt.date
) -> dict[str, dict[str, int]]:
    """The lifecycle of one re-evaluated institution: resolve its open findings that ``rows`` (its findings
    as the JSON array of :data:`ONE_STAGE`) no longer holds, then open the new ones and refresh the changed
    ones. Returns ``{"resolved"|"opened"|"refreshed": {rule: n}}``."""
    args = {"rows": rows, "lo": institution_id - 1, "hi": institution_id, "run": run_id, "as_of": as_of}
    # One institution (or a range) is a sliver of the finding table: always reach it through its indexes. The
    # table's statistics cannot be trusted here (a first run fills an empty table within its transaction,
    # and a fresh table is not analysed yet), and one sequential scan would dwarf the work.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    resolved = session.execute(text(_RESOLVE_SQL.format(stage=ONE_STAGE, scope=ONE_SCOPE)), args).all()
    written = session.execute(text(_UPSERT_SQL.format(stage=ONE_STAGE, scope=ONE_SCOPE)), args).all()
    session.execute(text("RESET enable_seqscan"))
    return {
        "resolved": {r.rule_id: r.n for r in resolved},
        "opened": {r.rule_id: r.opened for r in written if r.opened},
        "refreshed": {r.rule_id: r.refreshed for r in written if r.refreshed},
    }


_RESOLVE_GONE_SQL = """
WITH gone AS (
  UPDATE finding f SET status = 'resolved', resolved_on = :as_of, resolved_run_id = :run
  FROM unnest(CAST(:ids AS bigint[]), CAST(:rules AS text[]), CAST(:subjects AS text[]))
    AS g(institution_id, rule_id, subject)
  WHERE f.status = 'open' AND f.institution_id = g.institution_id AND f.rule_id = g.rule_id
    AND f.subject = g.subject AND f.institution_id IN ({scope})
  RETURNING f.rule_id)
SELECT rule_id, count(*) AS n FROM gone GROUP BY rule_id
"""


def apply_range_lifecycle(
    session: Session,
    *,
    run_id: int,
    as_of: dt.date,
    lo: int,
    hi: int,
    gone: Sequence[tuple[int, str, str]],
    staged: bool,
) -> dict[str, dict[str, int]]:
    """The lifecycle of a full run's range ``(lo, hi]``, compared by its worker: resolve the open findings
    ``gone`` (institution id, rule ID, subject), then, when new or changed ones are ``staged`` in
    ``finding_stage``, open and refresh them; only for the institutions still in the run's scope. Returns
    ``{"resolved"|"opened"|"refreshed": {rule: n}}``."""
    out: dict[str, dict[str, int]] = {"resolved": {}, "opened": {}, "refreshed": {}}
    if not gone and not staged:
        return out
    args = {"lo": lo, "hi": hi, "run": run_id, "as_of": as_of}
    session.execute(text("SET LOCAL enable_seqscan = off"))  # as in apply_institution_lifecycle
    if gone:
        resolved = session.execute(
            text(_RESOLVE_GONE_SQL.format(scope=BULK_SCOPE)),
            {
                **args,
                "ids": [g[0] for g in gone],
                "rules": [g[1] for g in gone],
                "subjects": [g[2] for g in gone],
            },
        ).all()
        out["resolved"] = {r.rule_id: r.n for r in resolved}
    if staged:
        written = session.execute(text(_UPSERT_SQL.format(stage=BULK_STAGE, scope=BULK_SCOPE)), args).all()
        out["opened"] = {r.rule_id: r.opened for r in written if r.opened}
        out["refreshed"] = {r.rule_id: r.refreshed for r in written if r.refreshed}
    session.execute(text("RESET enable_seqscan"))
    return out


def drop_stale_scope(session: Session, full_run_id: int) -> int:
    """Take out of a full run's scope the institutions that no longer exist and those re-evaluated on their
    own since the run began (their findings are fresher than the run's facts). Returns how many remain."""
    session.execute(
        text(
            "DELETE FROM run_scope s"
            " WHERE NOT EXISTS (SELECT 1 FROM institution i WHERE i.id = s.institution_id)"
            " OR EXISTS (SELECT 1 FROM rule_run r WHERE r.scope = 'institution' AND r.id > :run"
            " AND r.institution_id = s.institution_id)"
        ),
        {"run": full_run_id},
    )
    return int(session.execute(text("SELECT count(*) FROM run_scope")).scalar_one())


FINDINGS_LOCK = 0x5EC0_F1D0
"""Advisory lock between full runs (exclusive, while they start and while they write) and the re-evaluation
of one institution (shared), so that a full run never writes facts older than a re-evaluation's."""


FULL_RUN_LOCK = 0x5EC0_F1D1
"""Held by a full run for its whole transaction: one full run at a time."""


def try_lock_full_run(session: Session) -> bool:
    return bool(
        session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": FULL_RUN_LOCK}).scalar_one()
    )


def claim_full_run_id(session: Session) -> int:
    """The id of a new full run, drawn while no re-evaluation of one institution is in flight: every one that
    read its facts earlier has committed (so the run's readers see it), and every later one gets a higher run
    id (so the run's write phase knows to leave that institution alone). The lock is held for the draw only.
    """
    session.execute(text("SELECT pg_advisory_lock(:k)"), {"k": FINDINGS_LOCK})
    try:
        run_id = session.execute(
            text("SELECT nextval(pg_get_serial_sequence('rule_run', 'id'))")
        ).scalar_one()
    finally:
        session.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": FINDINGS_LOCK})
    return int(run_id)


def lock_findings(session: Session, *, shared: bool) -> None:
    fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {fn}(:k)"), {"k": FINDINGS_LOCK})


def lock_institution(session: Session, institution_id: int) -> None:
    """Serialise re-evaluations of one institution until the transaction ends."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('compliance-institution', :i))"),
        {"i": institution_id},
    )


def open_findings_of(session: Session, institution_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text(f"{_FINDING_SELECT} WHERE f.institution_id = :i AND f.status = 'open' ORDER BY {_ORDER}"),
        {"i": institution_id},
    )
    return [dict(r._mapping) for r in rows]


def open_counts_by_rule(session: Session) -> dict[str, int]:
    """Institutions with an open finding, per rule (what the last runs left)."""
    rows = session.execute(
        text(
            "SELECT rule_id, count(DISTINCT institution_id) AS n FROM finding WHERE status = 'open'"
            " GROUP BY rule_id"
        )
    )
    return {r.rule_id: r.n for r in rows}


# ------------------------------------------------------------------------------------------ the searches

_FINDING_COLUMNS = (
    "f.id, i.uscc, i.name AS institution_name, i.grid, f.rule_id, f.rule_version, f.severity, f.subject,"
    " f.message_zh, f.message_en, f.legal_basis, f.status, f.first_seen_on, f.first_run_id, f.updated_run_id,"
    " f.resolved_on, f.resolved_run_id"
)
_FINDING_SELECT = (
    f"SELECT {_FINDING_COLUMNS}, f.trace FROM finding f JOIN institution i ON i.id = f.institution_id"
)
# Severities sort alphabetically in their order of gravity (critical < major < minor < notice), so one index
# (ix_finding_open_list: severity, rule_id, id of the open findings) gives pages of open findings in this
# order: most severe first, then by rule, oldest first.
_ORDER = "f.severity, f.rule_id, f.id"
_SEVERITIES = "ARRAY['critical','major','minor','notice']"


def search_findings(
    session: Session,
    *,
    rule: str | None,
    severity: str | None,
    grid: str | None,
    status: str | None,
    uscc: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where = ["TRUE"]
    params: dict[str, Any] = {}
    for column, value in (
        ("f.rule_id", rule),
        ("f.severity", severity),
        ("i.grid", grid),
        ("f.status", status),
    ):
        if value:
            key = column.split(".")[1]
            where.append(f"{column} = :{key}")
            params[key] = value
    if uscc:
        where.append("f.institution_id = (SELECT id FROM institution WHERE uscc = :uscc)")
        params["uscc"] = uscc.upper()
    if rule and not severity:
        where.append(f"f.severity = ANY({_SEVERITIES})")  # lets the list index reach rule_id, its 2nd column
    cond = " AND ".join(where)
    counted = "finding f JOIN institution i ON i.id = f.institution_id" if grid else "finding f"
    total = session.execute(text(f"SELECT count(*) FROM {counted} WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            f"SELECT {_FINDING_COLUMNS} FROM finding f JOIN institution i ON i.id = f.institution_id"
            f" WHERE {cond} ORDER BY {_ORDER} LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return int(total), [dict(r._mapping) for r in rows]


def finding(session: Session, finding_id: int) -> dict[str, Any] | None:
    row = session.execute(text(f"{_FINDING_SELECT} WHERE f.id = :id"), {"id": finding_id}).first()
    return dict(row._mapping) if row else None


def finding_history(
    session: Session, institution_id: int, rule_id: str, subject: str
) -> list[dict[str, Any]]:
    """Every finding (open or resolved) of one identity, newest first."""
    rows = session.execute(
        text(
            "SELECT id, status, first_seen_on, resolved_on, first_run_id, resolved_run_id FROM finding"
            " WHERE institution_id = :i AND rule_id = :r AND subject = :s ORDER BY id DESC"
        ),
        {"i": institution_id, "r": rule_id, "s": subject},
    )
    return [dict(r._mapping) for r in rows]


def institution_of_finding(session: Session, finding_id: int) -> int | None:
    row = session.execute(
        text("SELECT institution_id FROM finding WHERE id = :id"), {"id": finding_id}
    ).first()
    return int(row.institution_id) if row else None


_RUN_COLUMNS = (
    "r.id, r.scope, i.uscc, r.as_of, r.jurisdiction, r.parameter_hash, r.engine_version, r.started_at,"
    " r.finished_at, r.duration_ms, r.institutions, r.counts, r.uncovered_dates, r.actor"
)


def search_runs(
    session: Session, *, scope: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    cond = "r.scope = :scope" if scope else "TRUE"
    params: dict[str, Any] = {"scope": scope}
    total = session.execute(text(f"SELECT count(*) FROM rule_run r WHERE {cond}"), params).scalar_one()
    rows = session.execute(
        text(
            f"SELECT {_RUN_COLUMNS} FROM rule_run r LEFT JOIN institution i ON i.id = r.institution_id"
            f" WHERE {cond} ORDER BY r.id DESC LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": limit, "offset": offset},
    )
    return int(total), [dict(r._mapping) for r in rows]


def run(session: Session, run_id: int) -> dict[str, Any] | None:
    row = session.execute(
        text(
            f"SELECT {_RUN_COLUMNS} FROM rule_run r LEFT JOIN institution i ON i.id = r.institution_id"
            " WHERE r.id = :id"
        ),
        {"id": run_id},
    ).first()
    return dict(row._mapping) if row else None


# ------------------------------------------------------------------------------------------- risk tiers

# What the risk tier of institutions reads when one is re-evaluated (rules.md "Risk tier"): their open
# findings of the rules that set a tier (``rule_id`` and ``subject``, joined by a unit separator) and the
# complaints about them received since a date, beside the tier stored now (none: green).
RISK_INPUTS_SQL = """
WITH f AS (SELECT institution_id, array_agg(rule_id || chr(31) || subject) AS open FROM finding
      WHERE status = 'open' AND rule_id = ANY(:rules) AND institution_id = ANY(:ids)
      GROUP BY institution_id),
c AS (SELECT uscc, count(*) AS n FROM complaint
      WHERE received_on BETWEEN :since AND :until
        AND uscc IN (SELECT uscc FROM institution WHERE id = ANY(:ids))
      GROUP BY uscc)
SELECT i.id, coalesce(r.tier, 'green'), coalesce(r.because, '{}'), coalesce(f.open, '{}'), coalesce(c.n, 0)
FROM institution i LEFT JOIN institution_risk r ON r.institution_id = i.id
LEFT JOIN f ON f.institution_id = i.id LEFT JOIN c ON c.uscc = i.uscc
WHERE i.id = ANY(:ids)
"""


def risk_inputs(
    session: Session, rules: Sequence[str], window: tuple[dt.date, dt.date], ids: Sequence[int]
) -> list[tuple[int, str, list[str], list[tuple[str, str]], int]]:
    """(id, stored tier, stored reasons, open (rule, subject) pairs, complaints) of institutions ``ids``."""
    rows = session.execute(
        text(RISK_INPUTS_SQL),
        {"rules": list(rules), "since": window[0], "until": window[1], "ids": list(ids)},
    ).all()
    out = []
    for r in rows:
        pairs = [(rule, subject) for rule, _, subject in (x.partition("\x1f") for x in r[3])]
        out.append((int(r[0]), str(r[1]), list(r[2]), pairs, int(r[4])))
    return out


def complaint_counts(session: Session, window: tuple[dt.date, dt.date]) -> dict[str, int]:
    """Complaints received within ``window`` (first and last day), by the credit code they name."""
    rows = session.execute(
        text(
            "SELECT uscc, count(*) FROM complaint WHERE received_on BETWEEN :since AND :until"
            " AND uscc IS NOT NULL GROUP BY uscc"
        ),
        {"since": window[0], "until": window[1]},
    )
    return {str(r[0]): int(r[1]) for r in rows}


# Tiers to store: the changed ones of a re-evaluation (``unnest`` of its lists), or of a full run's range (the
# workers compare; COPYed into ``tier_stage``), then only for the institutions still in the run's scope (one
# re-evaluated on its own since the run began keeps its fresher tier). ``changed_at`` moves only when the tier
# does.
_TIERS_SQL = """
INSERT INTO institution_risk AS r (institution_id, tier, because, changed_at)
SELECT t.institution_id, t.tier, t.because, t.changed_at FROM {source} t
WHERE {scope}
ON CONFLICT (institution_id) DO UPDATE SET tier = excluded.tier, because = excluded.because,
  changed_at = CASE WHEN r.tier = excluded.tier THEN r.changed_at ELSE excluded.changed_at END
"""
_LISTED_TIERS = """(SELECT u.institution_id, u.tier,
  coalesce(string_to_array(nullif(u.because, ''), ','), '{}') AS because,
  CAST(:now AS timestamptz) AS changed_at
  FROM unnest(CAST(:ids AS bigint[]), CAST(:tiers AS text[]), CAST(:because AS text[]))
  AS u(institution_id, tier, because))"""
_IN_RUN_SCOPE = "EXISTS (SELECT 1 FROM run_scope s WHERE s.institution_id = t.institution_id)"


def store_tiers(session: Session, tiers: Sequence[tuple[int, str, str]], now: dt.datetime) -> None:
    """Store the tiers of a re-evaluation that changed: (id, tier, the rule IDs that set it, comma-joined)."""
    if not tiers:
        return
    session.execute(
        text(_TIERS_SQL.format(source=_LISTED_TIERS, scope="TRUE")),
        {
            "ids": [t[0] for t in tiers],
            "tiers": [t[1] for t in tiers],
            "because": [t[2] for t in tiers],
            "now": now,
        },
    )


def store_run_tiers(session: Session, copy_text: bytes, *, nothing_stored: bool) -> None:
    """Store the tiers of a full run's range that changed (``TIER_COPY_NAMES`` rows in COPY text format):
    straight into ``institution_risk`` when the range has no stored tier and every institution of it is in
    the run's scope (``nothing_stored``), else through ``tier_stage``."""
    if not copy_text:
        return
    with raw_connection(session).cursor() as cur:
        if nothing_stored:
            with cur.copy(f"COPY institution_risk ({TIER_COPY_NAMES}) FROM STDIN") as cp:
                cp.write(copy_text)
            return
        cur.execute("TRUNCATE tier_stage")
        with cur.copy(f"COPY tier_stage ({TIER_COPY_NAMES}) FROM STDIN") as cp:
            cp.write(copy_text)
        # Through the indexes, as the lifecycle: a first run fills the tier table within this transaction,
        # so its statistics would have every range scan the whole of it.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(_TIERS_SQL.format(source="tier_stage", scope=_IN_RUN_SCOPE))
        cur.execute("RESET enable_seqscan")
