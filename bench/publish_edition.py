"""Publication of a 500,000-entry list edition, against reading and hashing the same entries naively.

    python -m bench.publish_edition [--white 500000] [--listed 5000]

A scratch database is filled, in SQL, with ``--white`` institutions that meet every white-list condition
(operating, a valid licence whose scope covers their one course, a supervised escrow account, no finding)
and ``--listed`` more under decisions (rectification orders and blacklistings, recorded as rows). Then:

1. **first publication**: the three lists as of 2027-03-01 through ``lists.service.publish`` — derivation
   in SQL, entries stored server-side, canonical JSON and SHA-256, the hash chain, audit — committed;
2. 2,000 licences expire and 1,000 more rectification orders are recorded;
3. **second publication** as of 2027-03-08: the same, plus the differences from the first edition (who
   entered and left each list, and why), committed.

Baseline, same run, same database: what an independent verifier does with the second white edition — read
its entries with a plain SELECT and serialise them with ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` and hash them; it must reproduce the published SHA-256.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import time

import orjson
from sqlalchemy import text
from sqlmodel import Session

from bench.common import peak_rss_mib, scratch_database
from supervision.db import make_engine
from supervision.lists import service as lists

GRIDS = (
    "五山",
    "员村",
    "车陂",
    "沙河",
    "石牌",
    "沙东",
    "天河南",
    "林和",
    "兴华",
    "棠下",
    "天园",
    "猎德",
    "冼村",
    "元岗",
    "黄村",
    "长兴",
    "龙洞",
    "凤凰",
    "前进",
    "珠吉",
    "新塘",
)
NOW = dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)

FILL_SQL = [
    # institutions: credit codes 52440106 + 9 digits + check-free filler (the derivation does not check them)
    """
    INSERT INTO institution (id, uscc, name, nature, status, district, grid, address, has_escrow, escrow_mode,
                             escrow_bank, escrow_account_last4, categories, search_grams, doc_sha256, version,
                             created_at, updated_at)
    SELECT n, '52440106' || lpad(n::text, 9, '0') || 'X',
           '广州市天河区' || (ARRAY['启明','博雅','英才','书香','翰墨','明德','致远','领航'])[1 + n % 8]
             || (ARRAY['艺术','体育','科技','文化','教育'])[1 + n % 5] || n || '号培训中心',
           'non_profit', 'operating', '天河区', (CAST(:grids AS text[]))[1 + n % 21],
           '广州市天河区' || (CAST(:grids AS text[]))[1 + n % 21] || '街道示例路' || (n % 997 + 1) || '号',
           true, 'bank_custody', '示例银行天河支行', lpad((n % 10000)::text, 4, '0'),
           ARRAY['non_subject'], '{}', 'x', 1, :now, :now
    FROM generate_series(1, :n) AS n
    """,
    """
    INSERT INTO licence (institution_id, number, first_approved_on, issued_on, valid_until, status,
                         scope_categories, scope_stages, scope_modes)
    SELECT n, '教民1440106' || lpad(n::text, 9, '0') || '号', DATE '2019-05-01', DATE '2024-05-01',
           DATE '2029-04-30', 'valid', ARRAY['non_subject'], ARRAY['primary','junior'], ARRAY['offline']
    FROM generate_series(1, :n) AS n
    """,
    """
    INSERT INTO course (institution_id, code, title, category, subject, stages, mode, class_size_max,
                        lesson_minutes, price_per_lesson_fen, teacher_codes, term_start, term_end)
    SELECT n, 'C1', '少儿美术基础', 'non_subject', 'arts', ARRAY['primary'], 'offline', 12, 60, 12000,
           ARRAY[]::text[], DATE '2027-02-20', DATE '2027-07-10'
    FROM generate_series(1, :n) AS n
    """,
    "SELECT setval('institution_id_seq', :n)",
]

DECIDE_SQL = """
INSERT INTO decision (reference, uscc, institution_name, kind, basis, summary, decided_on, effective_from,
                      deadline, until, officer, recorded_by, recorded_at)
SELECT '穗天教监〔2027〕' || :tag || n || '号', i.uscc, i.name,
       CASE WHEN n % 5 = 0 THEN 'blacklist' ELSE 'rectification_order' END,
       CASE WHEN n % 5 = 0 THEN ARRAY['CONDUCT-REFUND'] ELSE ARRAY['TIME-OFFLINE-LATE'] END,
       '基准测试决定', :day, :day, CASE WHEN n % 5 = 0 THEN NULL ELSE CAST(:day AS date) + 30 END,
       NULL, '基准', 'bench', :now
FROM generate_series(1, :k) AS n JOIN institution i ON i.id = :first + n - 1
"""


def publish(engine, as_of: dt.date) -> tuple[float, list[lists.Outcome]]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    with Session(engine) as s:
        outcomes = lists.publish(s, as_of=as_of, now=NOW, actor="bench", jurisdiction="440106")
        s.commit()
    return time.perf_counter() - start, outcomes


def verify_naively(engine, kind: str, seq: int) -> tuple[float, str, str]:  # type: ignore[no-untyped-def]
    """The baseline: a plain SELECT of the entries and the standard library's json.dumps, then SHA-256."""
    start = time.perf_counter()
    with engine.connect() as conn:
        ed = conn.execute(
            text(
                "SELECT id, kind, seq, as_of, published_at, jurisdiction, prev_sha256, sha256"
                " FROM list_edition WHERE kind = :k AND seq = :s"
            ),
            {"k": kind, "s": seq},
        ).one()
        rows = conn.execute(
            text(
                "SELECT uscc, name, licence_number, address, grid, categories, reason, since FROM list_entry"
                ' WHERE edition_id = :e ORDER BY uscc COLLATE "C"'
            ),
            {"e": ed.id},
        ).all()
    doc = {
        "kind": ed.kind,
        "seq": ed.seq,
        "as_of": ed.as_of.isoformat(),
        "published_at": ed.published_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "jurisdiction": ed.jurisdiction,
        "prev_sha256": ed.prev_sha256,
        "entries": [
            {
                "uscc": r.uscc,
                "name": r.name,
                "licence_number": r.licence_number,
                "address": r.address,
                "grid": r.grid,
                "categories": list(r.categories),
                "reason": r.reason,
                "since": r.since.isoformat(),
            }
            for r in rows
        ],
    }
    digest = hashlib.sha256(
        json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    return time.perf_counter() - start, digest, ed.sha256


def report(label: str, seconds: float, outcomes: list[lists.Outcome]) -> None:
    print(f"{label}: {seconds:.2f} s")
    for o in outcomes:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in o.seconds.items())
        print(
            f"  {o.kind:8} edition {o.seq}: {o.entries:,} entries (+{o.entered:,} −{o.left:,} ~{o.changed:,})"
            f"  [{stages}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--white", type=int, default=500_000)
    parser.add_argument("--listed", type=int, default=5_000)
    args = parser.parse_args()
    n = args.white + args.listed
    with scratch_database("sv_bench_publish") as url:
        engine = make_engine(url)
        t = time.perf_counter()
        with engine.begin() as conn:
            for stmt in FILL_SQL:
                conn.execute(text(stmt), {"n": n, "grids": list(GRIDS), "now": NOW})
            conn.execute(
                text(DECIDE_SQL),
                {
                    "tag": "A",
                    "k": args.listed,
                    "first": args.white + 1,
                    "day": dt.date(2027, 2, 1),
                    "now": NOW,
                },
            )
            conn.execute(text("ANALYZE"))
        print(f"filled {n:,} institutions and {args.listed:,} decisions in {time.perf_counter() - t:.1f} s")

        first, out1 = publish(engine, dt.date(2027, 3, 1))
        report("first publication (3 lists, no previous edition)", first, out1)

        with engine.begin() as conn:
            conn.execute(
                text("UPDATE licence SET valid_until = DATE '2027-03-05' WHERE institution_id <= 2000")
            )
            conn.execute(
                text(DECIDE_SQL),
                {"tag": "B", "k": 1000, "first": 10_001, "day": dt.date(2027, 3, 2), "now": NOW},
            )
        second, out2 = publish(engine, dt.date(2027, 3, 8))
        report("second publication (3 lists, with differences)", second, out2)
        rss_publication = peak_rss_mib()

        white = next(o for o in out2 if o.kind == "white")
        base, digest, published = verify_naively(engine, "white", white.seq or 0)
        assert digest == published, "the naive recomputation does not reproduce the published hash"
        with engine.connect() as conn:
            size = conn.execute(
                text("SELECT octet_length(canonical) FROM list_edition WHERE kind = 'white' AND seq = :s"),
                {"s": white.seq},
            ).scalar_one()
        print(
            f"baseline, same run: SELECT + json.dumps + SHA-256 of the second white edition "
            f"({white.entries:,} entries, {size / 1e6:.1f} MB canonical): {base:.2f} s; hash reproduced"
        )
        print(
            f"largest edition published in {max(first, second):.2f} s (target <= 30 s); peak RSS "
            f"{rss_publication:.0f} MiB through the publications, {peak_rss_mib():.0f} MiB with the baseline"
        )
        result = {
            "white_entries": white.entries,
            "first_s": round(first, 2),
            "second_s": round(second, 2),
            "baseline_s": round(base, 2),
            "canonical_bytes": size,
            "stages_second": {o.kind: o.seconds for o in out2},
        }
        print(orjson.dumps(result).decode())
        engine.dispose()


if __name__ == "__main__":
    main()
