"""Evaluating institutions in bulk (批量评估): the cached rule engine, a range of institutions at a time, in
this process or in a pool of worker processes.

A full run splits the registry into ranges of ids (keyset pagination: ``id > lo AND id <= hi``). For each
range, PostgreSQL builds the institution documents and the statements in force as JSON; the engine evaluates
them; the findings come back as rows ready for ``COPY`` (a full run) or as per-rule differences between two
parameter sets (a dry run). The size of the pool is the caller's (``runs.POOL_WORKERS`` by default): the
database spends about as much CPU building the documents as the engine spends reading them.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import psycopg

from rules import Context, Engine, Evaluation, Finding, Risk, all_rules
from supervision.compliance.facts import read_range, stored_findings, stored_tiers
from supervision.core.pgcopy import copy_text
from supervision.core.rulebook import context

# ------------------------------------------------------------------------------------------- the engine


@lru_cache(maxsize=1)
def engine_version() -> str:
    """A name for the catalogue in this build: ``rules-`` and a hash of every rule's ID and version, so a run
    records which rule definitions produced it (a rule whose semantics change gets a new version)."""
    ids = ",".join(f"{r.id}@{r.version}" for r in sorted(all_rules(), key=lambda r: r.id))
    return "rules-" + hashlib.sha256(ids.encode()).hexdigest()[:12]


def candidate_engine(
    jurisdiction: str, overlays: Sequence[Path | Mapping[str, Any]], data_dir: Path | None
) -> Engine:
    """An engine with candidate parameter files laid over the jurisdiction's (a dry run); not cached."""
    return Engine.load(jurisdiction, overlays=overlays, data_dir=data_dir)


# ------------------------------------------------------------------------------------------ the findings


def _findings(evaluation: Evaluation) -> Iterator[tuple[Finding, bytes, bytes, str]]:
    """Each finding once per (rule, subject): the finding, the UTF-8 of its fields before the trace (each
    followed by a tab), its trace as JSON, and its digest.

    The digest covers everything a run writes (rule, version, severity, subject, messages, legal basis,
    trace), so an unchanged finding is recognised without comparing JSON in the database.
    """
    seen: set[tuple[str, str]] = set()
    for f in evaluation.findings:
        key = (f.rule_id, f.subject)
        if key in seen:
            continue
        seen.add(key)
        head = (
            f"{f.rule_id}\t{f.rule_version}\t{f.severity}\t{f.subject}\t{f.message_zh}\t{f.message_en}\t"
            f"{f.legal_basis}\t"
        ).encode()
        trace = orjson.dumps(f.trace)
        yield f, head, trace, hashlib.blake2b(head + trace, digest_size=16).hexdigest()


_KEPT_TAIL = b"\t\\N" * 9 + b"\n"


def copy_lines(
    institution_id: int,
    evaluation: Evaluation,
    produced: Counter[str],
    tail: bytes,
    known: dict[tuple[int, str, str], str],
    kept: list[bytes],
) -> list[bytes]:
    """The findings of one institution that are new or changed, as rows of ``queries.FINDING_COPY_NAMES`` in
    COPY text format, counting every finding per rule into ``produced``. ``tail`` ends each row: the columns
    a run writes alike into every new finding (:func:`new_finding_tail`).

    ``known`` holds the digests of the open findings stored (by institution, rule ID and subject); each one
    produced again is taken out of it, so that what is left once a range is done is gone. A finding stored
    with the same digest is unchanged: only its key goes, to ``kept`` (institution, rule ID, subject, the
    other columns null), for a run that must count what it produced from the database."""
    out = []
    for f, head, trace, digest in _findings(evaluation):
        produced[f.rule_id] += 1
        if known and known.pop((institution_id, f.rule_id, f.subject), None) == digest:
            kept.append(
                b"%d\t%s\t\\N\t\\N\t%s%s"
                % (institution_id, f.rule_id.encode(), copy_text(f.subject).encode(), _KEPT_TAIL)
            )
            continue
        if head.count(b"\t") != 7 or b"\\" in head or b"\n" in head or b"\r" in head or b"\\" in trace:
            fields = (
                f.rule_id,
                str(f.rule_version),
                f.severity,
                f.subject,
                f.message_zh,
                f.message_en,
                f.legal_basis,
                trace.decode(),  # JSON: no raw tab or line break in it
            )
            body = "\t".join(map(copy_text, fields)).encode()
        else:
            body = head + trace
        out.append(b"%d\t%s\t%s%s" % (institution_id, body, digest.encode(), tail))
    return out


def new_finding_tail(as_of: dt.date, run_id: int) -> bytes:
    """The end of a finding's COPY row: open, first seen on ``as_of``, by run ``run_id`` (first and last)."""
    return f"\topen\t{as_of.isoformat()}\t{run_id}\t{run_id}\n".encode()


def tier_line(institution_id: int, risk: Risk, changed_at: str) -> str:
    """An ``institution_risk`` row in COPY text format (rule IDs need no quoting in an array literal)."""
    return f"{institution_id}\t{risk.tier}\t{{{','.join(risk.because)}}}\t{changed_at}\n"


def json_rows(institution_id: int, evaluation: Evaluation) -> tuple[str, Counter[str]]:
    """The findings of one institution as the JSON array ``jsonb_to_recordset`` reads (the re-evaluation of
    one institution), and the count per rule."""
    rows = []
    produced: Counter[str] = Counter()
    for f, _, trace, digest in _findings(evaluation):
        produced[f.rule_id] += 1
        rows.append(
            {
                "institution_id": institution_id,
                "rule_id": f.rule_id,
                "rule_version": f.rule_version,
                "severity": f.severity,
                "subject": f.subject,
                "message_zh": f.message_zh,
                "message_en": f.message_en,
                "legal_basis": f.legal_basis,
                "trace": orjson.Fragment(trace),
                "digest": digest,
            }
        )
    return orjson.dumps(rows).decode(), produced


# --------------------------------------------------------------------------------------- one range of ids


Range = tuple[int, int, int]
"""``(lo, hi, n)``: the institutions with ``lo < id <= hi``, ``n`` of them when the run began."""


def ranges(ids: Sequence[int], size: int) -> list[Range]:
    """Split ascending ids into consecutive ranges of ``size`` (keyset boundaries)."""
    out: list[Range] = []
    lo = ids[0] - 1 if ids else 0
    for k in range(0, len(ids), size):
        chunk = ids[k : k + size]
        out.append((lo, chunk[-1], len(chunk)))
        lo = chunk[-1]
    return out


class Uncovered:
    """The calendar dates a range met that the calendar data does not cover. Institutions with a course in
    the same term report the same set (the engine memoises it per date), so each distinct set is merged once.
    """

    def __init__(self) -> None:
        self.dates: set[dt.date] = set()
        self._seen: set[frozenset[dt.date]] = set()

    def add(self, dates: frozenset[dt.date]) -> None:
        if dates and dates not in self._seen:
            self._seen.add(dates)
            self.dates |= dates


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM on Linux: since it started its program, unlike
    ``ru_maxrss``, which a spawned worker inherits from the moment it was forked)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class StageBatch:
    """What a full run keeps of one range: its findings and changed risk tiers as COPY text, and counts."""

    hi: int
    institutions: int
    copy: bytes
    """The new and changed findings, rows of ``queries.FINDING_COPY_NAMES`` as a new finding is inserted."""
    produced: Counter[str]
    uncovered: set[dt.date]
    kept: bytes = b""
    """The keys of the findings stored unchanged, in the same columns (:func:`copy_lines`)."""
    gone: list[tuple[int, str, str]] = field(default_factory=list)
    """The open findings stored that were not produced again: (institution id, rule ID, subject)."""
    tiers: bytes = b""
    """The risk tiers that differ from the stored ones, rows of ``queries.TIER_COPY_NAMES``."""
    tier_counts: Counter[str] = field(default_factory=Counter)
    """How many institutions of the range are in each tier."""
    saw_stored: tuple[bool, bool] = (False, False)
    """Whether the worker found open findings, and tiers, stored for the range."""
    peak_mib: float = 0.0


def stage_range(conn: psycopg.Connection[Any], ctx: Context, lo: int, hi: int, job: Job) -> StageBatch:
    """Evaluate a range and compare it with what is stored, here in the worker: the new and changed findings
    and the keys of those gone; from the findings and the recent complaints of ``job`` (by credit code) each
    institution's risk tier, and the tiers that changed. The main process only writes.

    What is stored is read as the range is evaluated; a full run writes only the institutions in its scope,
    which no one else wrote since the run began (:func:`supervision.compliance.runs.run_full`)."""
    lines: list[bytes] = []
    kept: list[bytes] = []
    n = 0
    produced: Counter[str] = Counter()
    uncovered = Uncovered()
    tiers: list[str] = []
    tier_counts: Counter[str] = Counter()
    complaints = job.complaints
    tail = new_finding_tail(ctx.as_of, job.run_id)
    assert job.started is not None, "a full run's job names its start"
    changed_at = job.started.isoformat()
    stored = stored_tiers(conn, lo, hi)
    known = stored_findings(conn, lo, hi)
    saw_stored = (bool(known), bool(stored))
    for iid, doc, statements in read_range(conn, lo, hi, ctx.as_of):
        n += 1
        evaluation = ctx.evaluate(doc, statements)
        if evaluation.findings:
            lines += copy_lines(iid, evaluation, produced, tail, known, kept)
        uncovered.add(evaluation.uncovered_dates)
        risk = evaluation.risk
        if complaints.get(doc["uscc"]):
            pairs = [(f.rule_id, f.subject) for f in evaluation.findings]
            risk = ctx.risk(pairs, complaints_30d=complaints[doc["uscc"]])
        tier_counts[risk.tier] += 1
        if stored.get(iid, ("green", "")) != (risk.tier, ",".join(risk.because)):
            tiers.append(tier_line(iid, risk, changed_at))
    return StageBatch(
        hi,
        n,
        b"".join(lines),
        produced,
        uncovered.dates,
        b"".join(kept),
        list(known),
        "".join(tiers).encode(),
        tier_counts,
        saw_stored,
    )


@dataclass
class Example:
    uscc: str
    name: str
    subjects: list[str]
    message_zh: str


@dataclass
class RuleDiff:
    """One rule in a dry run: institutions failing it now and with the candidate, and who changes."""

    current: int = 0
    candidate: int = 0
    newly_fail: int = 0
    newly_pass: int = 0
    fail_examples: list[Example] = field(default_factory=list)
    pass_examples: list[Example] = field(default_factory=list)

    def merge(self, other: RuleDiff, examples: int) -> None:
        self.current += other.current
        self.candidate += other.candidate
        self.newly_fail += other.newly_fail
        self.newly_pass += other.newly_pass
        self.fail_examples = (self.fail_examples + other.fail_examples)[:examples]
        self.pass_examples = (self.pass_examples + other.pass_examples)[:examples]


@dataclass
class DiffBatch:
    hi: int
    institutions: int
    rules: dict[str, RuleDiff]
    uncovered: set[dt.date]
    peak_mib: float = 0.0


def _by_rule(evaluation: Evaluation) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for f in evaluation.findings:
        out.setdefault(f.rule_id, []).append(f)
    return out


def diff_range(
    conn: psycopg.Connection[Any], current: Context, candidate: Context, lo: int, hi: int, examples: int
) -> DiffBatch:
    rules: dict[str, RuleDiff] = {}
    uncovered = Uncovered()
    n = 0
    for _iid, doc, statements in read_range(conn, lo, hi, current.as_of):
        n += 1
        now = current.evaluate(doc, statements)
        then = candidate.evaluate(doc, statements)
        uncovered.add(then.uncovered_dates)
        a, b = _by_rule(now), _by_rule(then)
        for rule_id in a.keys() | b.keys():
            d = rules.setdefault(rule_id, RuleDiff())
            if rule_id in a:
                d.current += 1
            if rule_id in b:
                d.candidate += 1
            if (rule_id in a) == (rule_id in b):
                continue
            found = b.get(rule_id) or a[rule_id]
            ex = Example(doc["uscc"], doc["name"], [f.subject for f in found], found[0].message_zh)
            if rule_id in b:
                d.newly_fail += 1
                if len(d.fail_examples) < examples:
                    d.fail_examples.append(ex)
            else:
                d.newly_pass += 1
                if len(d.pass_examples) < examples:
                    d.pass_examples.append(ex)
    return DiffBatch(hi, n, rules, uncovered.dates)


# ------------------------------------------------------------------------------------------ the worker pool


@dataclass(frozen=True)
class Job:
    """What every worker needs to know, sent once when the pool starts."""

    dsn: str
    jurisdiction: str
    as_of: dt.date
    kind: str  # "stage" or "diff"
    overlays: tuple[Path | Mapping[str, Any], ...] = ()
    data_dir: Path | None = None
    examples: int = 5
    options: str = ""
    """Server settings of the workers' connections beyond UTC and no JIT: the role and the timeouts of the
    run's own connection (:func:`supervision.db.connection_options`)."""
    complaints: Mapping[str, int] = field(default_factory=dict)
    """Complaints received in the risk tier's window, by credit code (a full run's tiers count them)."""
    run_id: int = 0
    """The full run's id, written into each new finding."""
    started: dt.datetime | None = None
    """The full run's start, written as the instant a tier changed."""


class Worker:
    """The state of one evaluating process (or of this process when the run is not pooled)."""

    def __init__(self, job: Job, conn: psycopg.Connection[Any], candidate: Context | None = None) -> None:
        self.job = job
        self.conn = conn
        self.current = context(job.jurisdiction, job.as_of)
        self.candidate = candidate
        if job.kind == "diff" and candidate is None:
            self.candidate = candidate_engine(job.jurisdiction, job.overlays, job.data_dir).at(job.as_of)

    def __call__(self, r: Range) -> StageBatch | DiffBatch:
        lo, hi, _ = r
        if self.candidate is None:
            return stage_range(self.conn, self.current, lo, hi, self.job)
        return diff_range(self.conn, self.current, self.candidate, lo, hi, self.job.examples)


_worker: Worker | None = None


def _init_worker(job: Job) -> None:
    global _worker
    conn = psycopg.connect(
        job.dsn, autocommit=True, options=f"-c timezone=UTC -c jit=off {job.options}".strip()
    )
    _worker = Worker(job, conn)
    # Documents are trees without cycles, freed by reference counting as each range ends. The cyclic
    # collector would otherwise walk every live document again and again (it cost as much as parsing them);
    # here it runs once per range, over that range's leftovers only (what exists now is frozen).
    gc.freeze()
    gc.disable()


def _run_in_worker(r: Range) -> StageBatch | DiffBatch:
    assert _worker is not None, "worker not initialised"
    try:
        batch = _worker(r)
    finally:
        gc.collect()
    batch.peak_mib = peak_rss_mib()
    return batch


def evaluate_ranges(
    job: Job,
    todo: Sequence[Range],
    *,
    workers: int,
    local: psycopg.Connection[Any] | None,
    candidate: Context | None = None,
    on_result: Callable[[StageBatch | DiffBatch, Range], None],
) -> None:
    """Evaluate every range and hand each result to ``on_result`` in order (ranges ascending).

    ``workers == 0`` evaluates here on ``local`` (the caller's connection: it sees the caller's uncommitted
    rows, which tests rely on). Otherwise a pool of ``workers`` processes, each with its own connection,
    reads committed data; at most two ranges per worker are in flight, so memory stays flat.

    Workers are started with ``spawn`` (a fresh interpreter; nothing of this process's threads, locks or
    database connections is inherited). Like any spawned process they import the program's main module, so
    a script that starts a full run must keep its work under ``if __name__ == "__main__":`` (the
    ``supervision`` command and ``python -m scheduler`` do).
    """
    if workers <= 0:
        assert local is not None
        here = Worker(job, local, candidate)
        for r in todo:
            on_result(here(r), r)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(job,)) as pool:
        pending: list[tuple[Future[StageBatch | DiffBatch], Range]] = []
        for r in todo:
            pending.append((pool.submit(_run_in_worker, r), r))
            if len(pending) >= 2 * workers:
                done, rr = pending.pop(0)
                on_result(done.result(), rr)
        for done, rr in pending:
            on_result(done.result(), rr)
