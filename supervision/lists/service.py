"""Publishing list editions (名单发布) and explaining list status.

One publication covers one ``as_of`` date and one or more kinds, in one transaction:

1. per kind, take a transaction-scoped advisory lock (publishers of one kind queue up), then claim the
   ``(kind, as_of)`` row of ``list_edition`` (unique; a second publisher finds it taken and does nothing);
2. classify every institution once, in SQL, into the temporary ``derived_list``;
3. per claimed kind, copy its rows into ``list_entry`` server-side (``since`` carried over from the previous
   edition when the institution was already on it), read them back in credit-code order, serialise the
   canonical form of formats.md with orjson (byte-identical to ``json.dumps(sort_keys=True,
   separators=(",", ":"), ensure_ascii=False)``, a test holds it to that), hash it, chain it to the previous
   edition, store the bytes, record who entered and left and why, mark it published and write an audit row.

A publication killed halfway leaves nothing: its transaction, claim included, is rolled back, and the next
attempt starts afresh. A published edition can no longer change (a database trigger).
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlmodel import Session

from supervision.core import audit
from supervision.core.clock import check_within
from supervision.core.errors import Invalid, NotFound, Problem
from supervision.db import bulk_timeouts
from supervision.lists import queries
from supervision.lists.models import KINDS

# Publication order inside one transaction (and the order advisory locks are taken in).
ORDER = ("black", "warning", "white")


def canonical_bytes(obj: dict[str, Any] | list[Any]) -> bytes:
    """The canonical form of formats.md: keys sorted, no whitespace, non-ASCII as-is, UTF-8."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_stream(header: dict[str, Any], batches: Iterable[list[dict[str, Any]]]) -> tuple[bytes, int]:
    """The canonical form of ``header`` with ``"entries"`` set to the concatenated batches, built batch by
    batch; byte-identical to ``canonical_bytes({**header, "entries": [...]})``. Returns (bytes, count)."""
    head, tail = canonical_bytes({**header, "entries": []}).split(b'"entries":[]', 1)
    out = bytearray(head)
    out += b'"entries":['
    count = 0
    for batch in batches:
        if not batch:
            continue
        if count:
            out += b","
        out += canonical_bytes(batch)[1:-1]
        count += len(batch)
    out += b"]"
    out += tail
    return bytes(out), count


def _entry_batches(cur: Any, size: int = 50_000) -> Iterator[list[dict[str, Any]]]:
    while rows := cur.fetchmany(size):
        yield [
            {
                "uscc": u,
                "name": n,
                "licence_number": ln,
                "address": a,
                "grid": g,
                "categories": c,
                "reason": r,
                "since": s,
            }
            for (u, n, ln, a, g, c, r, s) in rows
        ]


def served_json(canonical: bytes, sha256: str) -> bytes:
    """The edition document as served: the canonical object with ``sha256`` added (it sorts last)."""
    return canonical[:-1] + b',"sha256":"' + sha256.encode("ascii") + b'"}'


def check_kinds(kinds: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not kinds:
        return ORDER
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise Invalid(
            "unknown list kind", [Problem("kind", f"{k!r} is not white, warning or black") for k in bad]
        )
    return tuple(k for k in ORDER if k in kinds)


@dataclass
class Outcome:
    """What one publication did for one kind."""

    kind: str
    as_of: dt.date
    status: str
    """``published`` (a new edition), ``already_published`` (that date exists), ``superseded``."""
    seq: int | None = None
    sha256: str | None = None
    prev_sha256: str | None = None
    entries: int = 0
    entered: int = 0
    left: int = 0
    changed: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


def publish(
    session: Session,
    *,
    as_of: dt.date,
    now: dt.datetime,
    actor: str,
    jurisdiction: str,
    kinds: list[str] | tuple[str, ...] | None = None,
    window: tuple[dt.date, dt.date] | None = None,
) -> list[Outcome]:
    """Publish the editions of ``kinds`` (default: all three) as of ``as_of``. Flushes; the caller commits.

    ``window``: the earliest and latest list dates the caller accepts (the door's, from the settings); one
    outside it is refused (422) before anything is locked, so a list dated far ahead cannot be published and
    then refuse every normal publication as superseded."""
    import time

    if window is not None:
        check_within(as_of, *window, "as_of")
    order = check_kinds(kinds)
    bulk_timeouts(session)
    published_at = now.astimezone(dt.UTC).replace(microsecond=0)
    outcomes: list[Outcome] = []
    claimed: list[tuple[Outcome, int, dict[str, Any] | None]] = []
    prev_ids: dict[str, int] = {}
    for kind in order:
        queries.lock_kind(session, kind)
        latest = queries.latest_published(session, kind)
        if latest is not None:
            prev_ids[kind] = latest["id"]
        if latest is not None and latest["as_of"] >= as_of:
            same = latest["as_of"] == as_of
            outcomes.append(
                Outcome(
                    kind,
                    as_of,
                    "already_published" if same else "superseded",
                    seq=latest["seq"] if same else None,
                    sha256=latest["sha256"] if same else None,
                )
            )
            continue
        new_id = queries.claim_edition(session, kind, as_of, jurisdiction=jurisdiction, now=now, actor=actor)
        if new_id is None:
            outcomes.append(Outcome(kind, as_of, "already_published"))
            continue
        out = Outcome(kind, as_of, "published")
        outcomes.append(out)
        claimed.append((out, new_id, latest))
    if not claimed:
        return outcomes

    t0 = time.perf_counter()
    queries.derive(session, as_of)
    derive_s = time.perf_counter() - t0
    for out, edition_id, prev in claimed:
        out.seconds["derive"] = round(derive_s, 3)
        _publish_kind(session, out, edition_id, prev, prev_ids, published_at, jurisdiction, actor, now)
    session.flush()
    return outcomes


def _publish_kind(
    session: Session,
    out: Outcome,
    edition_id: int,
    prev: dict[str, Any] | None,
    prev_ids: dict[str, int],
    published_at: dt.datetime,
    jurisdiction: str,
    actor: str,
    now: dt.datetime,
) -> None:
    import time

    kind, as_of = out.kind, out.as_of
    t = time.perf_counter()
    queries.store_entries(session, edition_id, kind, as_of, prev["id"] if prev else None)
    out.seconds["store"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    seq = (prev["seq"] + 1) if prev else 1
    prev_sha = prev["sha256"] if prev else None
    header = {
        "kind": kind,
        "seq": seq,
        "as_of": as_of.isoformat(),
        "published_at": published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "jurisdiction": jurisdiction,
        "prev_sha256": prev_sha,
    }
    # The entries stream from a server-side cursor in batches: memory stays at the output plus one batch, and
    # the cyclic collector is kept from rescanning half a million fresh objects while they are built.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with queries.entries_in_order(session, edition_id) as cur:
            data, count = canonical_stream(header, _entry_batches(cur))
    finally:
        if gc_was_enabled:
            gc.enable()
    sha = sha256_hex(data)
    out.seconds["serialise"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    entered = left = changed = 0
    if prev is not None:
        entered, left, changed = _record_changes(session, kind, edition_id, prev, prev_ids, as_of)
    else:
        entered = count
    out.seconds["differences"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    queries.seal_edition(
        session,
        edition_id,
        seq=seq,
        published_at=published_at,
        prev_sha256=prev_sha,
        sha256=sha,
        canonical=data,
        counts=(count, entered, left, changed),
    )
    out.seq, out.sha256, out.prev_sha256 = seq, sha, prev_sha
    out.entries, out.entered, out.left, out.changed = count, entered, left, changed
    audit.record(
        session,
        at=now,
        actor=actor,
        action="publish",
        entity="list_edition",
        key=f"{kind}:{seq}",
        before=None,
        after={
            "kind": kind,
            "seq": seq,
            "as_of": as_of.isoformat(),
            "published_at": published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": sha,
            "prev_sha256": prev_sha,
            "entries": count,
            "entered": entered,
            "left": left,
            "changed": changed,
        },
    )
    out.seconds["seal"] = round(time.perf_counter() - t, 3)


def _record_changes(
    session: Session,
    kind: str,
    edition_id: int,
    prev: dict[str, Any],
    prev_ids: dict[str, int],
    as_of: dt.date,
) -> tuple[int, int, int]:
    """Store who entered, left or changed reason since ``prev``; returns the three counts.

    One merge of the two editions' entries (both in credit-code order in their primary key) finds the
    differences; the causes are then looked up for those few, and everything is copied in at once.
    """
    rows = queries.differences(session, edition_id, prev["id"])
    if not rows:
        return 0, 0, 0
    entered = [r.uscc for r in rows if r.change == "entered"]
    gone = [(r.uscc, r.previous_reason) for r in rows if r.change == "left"]
    came_from: dict[str, list[str]] = {}
    others = [i for k, i in prev_ids.items() if k != kind]
    if entered and others:
        for r in queries.listed_in(session, others, entered):
            came_from.setdefault(r.uscc, []).append(f"from:{r.kind}")
    why = why_left(session, kind, gone, as_of) if gone else {}
    queries.store_changes(
        session,
        (
            (
                edition_id,
                r.uscc,
                r.change,
                r.name,
                r.reason,
                r.previous_reason,
                why.get(r.uscc, []) if r.change == "left" else came_from.get(r.uscc, []),
            )
            for r in rows
        ),
    )
    return len(entered), len(gone), len(rows) - len(entered) - len(gone)


def why_left(
    session: Session, kind: str, gone: list[tuple[str, str | None]], as_of: dt.date
) -> dict[str, list[str]]:
    """Machine-readable causes for institutions that were on ``kind`` (with the given previous reasons) and
    are not on it as of ``as_of``: where they went, and which of their grounds ended and how.

    Needs ``derived_list`` for ``as_of`` (the publication's own classification).
    """
    usccs = [u for u, _ in gone]
    moved = queries.derived_kind(session, usccs)
    out: dict[str, list[str]] = {u: [f"moved:{moved[u]}"] if u in moved else [] for u in usccs}
    if kind in ("black", "warning"):
        grounds = {u: parse_reason(r) for u, r in gone}
        refs = sorted({g[1] for gs in grounds.values() for g in gs if g[1]})
        ended = queries.decisions_ended(session, refs, as_of) if refs else {}
        inactive = [u for u, gs in grounds.items() if any(not ref for _, ref in gs)]
        checks = queries.white_checks(session, inactive, as_of) if inactive else {}
        for u, gs in grounds.items():
            for _, ref in gs:
                if ref is None:
                    if checks.get(u, {}).get("licence_status") not in (None, "suspended"):
                        out[u].append("licence_restored")
                    continue
                d = ended.get(ref)
                if d is None:
                    continue
                if d["lifted_by"]:
                    out[u].append(f"lifted:{d['lifted_by']}")
                elif d["until"] is not None and d["until"] < as_of:
                    out[u].append(f"ended:{ref}:{d['until'].isoformat()}")
    else:
        need = [u for u in usccs if u not in moved]
        for u, reasons in not_white_reasons(session, need, as_of).items():
            out[u].extend(reasons)
    for u in usccs:
        if not out[u]:
            out[u].append("no_longer_applies")
    return out


def parse_reason(reason: str | None) -> list[tuple[list[str], str | None]]:
    """``"ID1,ID2 REF; LIC-INACTIVE"`` → ``[(["ID1", "ID2"], "REF"), (["LIC-INACTIVE"], None)]``."""
    if not reason:
        return []
    out: list[tuple[list[str], str | None]] = []
    for part in reason.split("; "):
        ids, _, ref = part.partition(" ")
        out.append(([i for i in ids.split(",") if i], ref or None))
    return out


def not_white_reasons(session: Session, usccs: list[str], as_of: dt.date) -> dict[str, list[str]]:
    """Which white-list conditions each institution fails on ``as_of`` (black and warning not included)."""
    if not usccs:
        return {}
    return {u: white_failures(c, as_of) for u, c in queries.white_checks(session, usccs, as_of).items()}


def white_failures(c: dict[str, Any], as_of: dt.date) -> list[str]:
    """The white-list conditions failed, from the facts :func:`queries.white_checks` reads."""
    if not c["registered"]:
        return ["deregistered"]
    reasons: list[str] = []
    if c["status"] != "operating":
        reasons.append(f"not_operating:{c['status']}")
    if c["licence_status"] is None:
        reasons.append("no_licence")
    else:
        if c["licence_status"] != "valid":
            reasons.append(f"licence:{c['licence_status']}")
        if c["valid_until"] < as_of:
            reasons.append("licence_expired")
        if c["issued_on"] > as_of:
            reasons.append("licence_not_yet_issued")
        if c["out_of_scope"]:
            reasons.append("out_of_scope")
    if c["escrow_mode"] is None:
        reasons.append("no_escrow")
    reasons.extend(f"critical:{r}" for r in c["critical"])
    return reasons


def preview(session: Session, as_of: dt.date) -> dict[str, int]:
    """How many institutions each list would hold as of ``as_of`` (nothing is stored)."""
    return queries.derive(session, as_of)


# ------------------------------------------------------------------------------------------ reading


def latest(session: Session, kind: str) -> dict[str, Any]:
    check_kinds([kind])
    ed = queries.latest_published(session, kind)
    if ed is None:
        raise NotFound(f"no {kind} list has been published yet")
    return ed


def edition(session: Session, kind: str, seq: int) -> dict[str, Any]:
    check_kinds([kind])
    ed = queries.edition(session, kind, seq)
    if ed is None:
        raise NotFound(f"no edition {seq} of the {kind} list")
    return ed


def document_bytes(session: Session, ed: dict[str, Any]) -> bytes:
    """The edition as served (formats.md): the canonical bytes with ``sha256`` added."""
    data, sha = queries.canonical(session, ed["id"])
    return served_json(data, sha)


def latest_all(session: Session) -> dict[str, dict[str, Any]]:
    return queries.latest_all(session)


def latest_or_none(session: Session, kind: str) -> dict[str, Any] | None:
    return queries.latest_published(session, kind)


def editions(
    session: Session, kind: str | None, *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    return queries.editions(session, kind, limit=limit, offset=offset)


def entries(
    session: Session, edition_id: int, *, q: str | None, grid: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    return queries.entries(session, edition_id, q=q, grid=grid, limit=limit, offset=offset)


def iter_entries(session: Session, edition_id: int) -> Any:
    return queries.iter_entries(session, edition_id)


def changes(
    session: Session, edition_id: int, *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    return queries.changes(session, edition_id, limit=limit, offset=offset)


def list_history(session: Session, uscc: str) -> list[dict[str, Any]]:
    """The editions an institution was published in (staff pages), newest first."""
    return queries.list_history(session, uscc)
