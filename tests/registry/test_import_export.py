"""Registry import and export: JSON, JSON lines and CSV folders; bad records reported, good ones kept."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from supervision.core.errors import Invalid
from supervision.registry import queries
from supervision.registry.io import CSV_TABLES, export, import_records, read_source
from tests.conftest import example_document

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def _import(engine: Engine, path: Path):  # type: ignore[no-untyped-def]
    return import_records(engine, read_source(path), actor="test:import", now=NOW)


def _audit_rows(engine: Engine, usccs: list[str]) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM audit_log WHERE entity_key = ANY(:u)"), {"u": usccs}
            ).scalar_one()
        )


def _stored(engine: Engine, uscc: str) -> dict[str, Any] | None:
    with Session(engine) as s:
        return queries.document(s, uscc)


def test_jsonl_bad_lines_reported_good_ones_kept(engine: Engine, tmp_path: Path) -> None:
    good = [example_document() for _ in range(3)]
    bad_type = example_document()
    bad_type["courses"][0]["lesson_minutes"] = "45"
    lines = [
        json.dumps(good[0], ensure_ascii=False),
        "{not json",
        json.dumps(bad_type, ensure_ascii=False),
        json.dumps(good[1], ensure_ascii=False),
        "",
        json.dumps(good[2], ensure_ascii=False),
        json.dumps(good[0], ensure_ascii=False),
    ]
    path = tmp_path / "registry.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = _import(engine, path)
    assert report.imported == 3
    rejected = {loc: problems for loc, problems in report.rejected}
    assert set(rejected) == {"registry.jsonl:2", "registry.jsonl:3", "registry.jsonl:7"}
    assert rejected["registry.jsonl:3"][0].loc == "courses[0].lesson_minutes"
    assert "appears again" in rejected["registry.jsonl:7"][0].msg
    for d in good:
        assert _stored(engine, d["uscc"]) == d
    assert _stored(engine, bad_type["uscc"]) is None


def test_reimport_changes_nothing_and_writes_no_audit(engine: Engine, tmp_path: Path) -> None:
    docs = [example_document() for _ in range(5)]
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    first = _import(engine, path)
    assert (first.imported, first.unchanged) == (5, 0)
    audit_before = _audit_rows(engine, [d["uscc"] for d in docs])
    again = _import(engine, path)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 5)
    assert _audit_rows(engine, [d["uscc"] for d in docs]) == audit_before == 5


def test_batches_written_side_by_side_all_land(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small batches, so that the writers store several at once: new, changed and unchanged records and a bad
    one, every good record stored once, the progress counted for each batch."""
    monkeypatch.setattr("supervision.registry.io.BATCH", 2)
    docs = [example_document() for _ in range(9)]
    path = tmp_path / "registry.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs[:5]), encoding="utf-8")
    assert _import(engine, path).imported == 5
    docs[1]["name"] += "（新址）"
    docs[3]["courses"][0]["title"] = "改过的课程"
    bad = example_document(nature="state_owned")
    lines = [json.dumps(d, ensure_ascii=False) for d in docs] + [json.dumps(bad, ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[int] = []
    report = import_records(engine, read_source(path), actor="test:import", now=NOW, progress=seen.append)
    assert (report.imported, report.updated, report.unchanged) == (4, 2, 3)
    assert [loc for loc, _ in report.rejected] == ["registry.jsonl:10"]
    assert sum(seen) == 9 and len(seen) == 5
    for d in docs:
        assert _stored(engine, d["uscc"]) == d
    assert _stored(engine, bad["uscc"]) is None


def test_changed_record_is_updated_with_before_and_after(engine: Engine, tmp_path: Path) -> None:
    doc = example_document()
    path = tmp_path / "one.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _import(engine, path)
    doc["courses"][0]["prepaid_packages"][0]["price_fen"] = 150000
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = _import(engine, path)
    assert report.updated == 1
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT before, after FROM audit_log WHERE entity_key = :u AND action = 'replace'"),
            {"u": doc["uscc"]},
        ).one()
    assert row.before["courses"][0]["prepaid_packages"][0]["price_fen"] == 140000
    assert row.after["courses"][0]["prepaid_packages"][0]["price_fen"] == 150000


def test_text_that_copy_and_arrays_must_escape_is_stored_exactly(engine: Engine, tmp_path: Path) -> None:
    """Rows are written as COPY text and array literals: backslashes, tabs, newlines, quotes, braces,
    commas and a literal \\N must all come back as they went in, in the tables and in the audit row."""
    doc = example_document()
    tricky = 'A\\B\tC\nD\r"E" {F,G} \\N 机构'
    doc["name"] = tricky[:200]
    doc["address"] = "广州市天河区\\N\t1号"
    doc["teachers"][0]["name"] = 'Tea"c\\her'
    doc["premises"][0]["address"] = "line one\nline two"
    doc["courses"][0]["title"] = "C:\\path\\to {x}"
    path = tmp_path / "tricky.jsonl"
    path.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    report = _import(engine, path)
    assert (report.imported, report.rejected) == (1, [])
    assert _stored(engine, doc["uscc"]) == doc
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT after FROM audit_log WHERE entity_key = :u AND action = 'create'"),
            {"u": doc["uscc"]},
        ).scalar_one()
    assert after == doc
    again = _import(engine, path)
    assert again.unchanged == 1


def test_malformed_json_file_names_line_and_column(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"uscc": "x",\n  oops\n]', encoding="utf-8")
    report = _import(engine, path)
    assert report.imported == 0
    ((_loc, problems),) = report.rejected
    assert problems[0].loc.startswith("broken.json:3:")


def test_undecodable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"\xff\xfe\x00\x81\x30\xff" * 10)
    with pytest.raises(Invalid) as exc:
        list(read_source(path))
    assert "neither UTF-8 nor GB18030" in exc.value.detail


def _write_csv_folder(folder: Path, docs: list[dict[str, Any]], encoding: str) -> None:
    engine_free = folder / "_"
    folder.mkdir(parents=True, exist_ok=True)
    from supervision.registry.io import _export_csv

    _export_csv(docs, engine_free)
    for name in CSV_TABLES:
        content = (engine_free / f"{name}.csv").read_text(encoding="utf-8-sig")
        (folder / f"{name}.csv").write_bytes(content.encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_folder_in_every_accepted_encoding(engine: Engine, tmp_path: Path, encoding: str) -> None:
    docs = [example_document() for _ in range(3)]
    docs[1]["escrow"] = None
    docs[2]["licence"] = None
    folder = tmp_path / "csv"
    _write_csv_folder(folder, docs, encoding)
    report = _import(engine, folder)
    assert report.rejected == []
    assert report.imported == 3
    for d in docs:
        assert _stored(engine, d["uscc"]) == d


def test_csv_rows_reported_with_file_and_line(engine: Engine, tmp_path: Path) -> None:
    docs = [example_document(), example_document()]
    folder = tmp_path / "csv"
    _write_csv_folder(folder, docs, "utf-8")
    with (folder / "slots.csv").open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow([docs[0]["uscc"], "C9", 1, "18:00", "18:45"])
    rows = (folder / "courses.csv").read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace(",45,", ",forty-five,")
    (folder / "courses.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = _import(engine, folder)
    locs = [loc for loc, _ in report.rejected]
    assert "slots.csv:4" in locs
    (problem,) = next(problems for loc, problems in report.rejected if loc.startswith("institutions.csv:3"))
    assert problem.loc == "courses.csv:3: courses[0].lesson_minutes"
    assert report.imported == 1


def test_csv_header_problems_are_listed(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "institutions.csv").write_text("uscc,name,colour\n", encoding="utf-8")
    with pytest.raises(Invalid) as exc:
        list(read_source(folder))
    assert "unknown columns: colour" in exc.value.problems[0].msg
    assert "missing columns" in exc.value.problems[0].msg


def test_export_round_trips_in_every_format(engine: Engine, tmp_path: Path) -> None:
    docs = [example_document() for _ in range(2)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8")
    _import(engine, src)
    for fmt, target in (
        ("jsonl", tmp_path / "out.jsonl"),
        ("json", tmp_path / "out.json"),
        ("csv", tmp_path / "out_csv"),
    ):
        count = export(engine, target, fmt)
        assert count >= 2
        exported = {r.raw["uscc"]: r.raw for r in read_source(target)}
        for d in docs:
            assert exported[d["uscc"]] == d, fmt


def test_large_file_imports_whole(engine: Engine, tmp_path: Path) -> None:
    """A ~50 MB JSON-lines file (padded with long addresses) imports completely, nothing half-written."""
    base = example_document()
    path = tmp_path / "big.jsonl"
    count = 0
    with path.open("w", encoding="utf-8") as f:
        while f.tell() < 50 * 1024 * 1024:
            d = example_document()
            d["address"] = "广州市天河区" + "长" * 190
            for i in range(2, 40):
                d["teachers"].append(dict(base["teachers"][0], code=f"T{i}", name=f"老师{i}"))
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
            count += 1
    report = _import(engine, path)
    assert report.rejected == []
    assert report.imported == count


def test_two_simultaneous_creations_of_one_institution_one_wins_one_conflicts(engine: Engine) -> None:
    """Both look before either has committed: the second COPY waits on the first's unique key, then gets a
    clear 409 instead of a database error, and nothing of it is kept."""
    import threading

    from supervision.core.errors import Conflict
    from supervision.registry import service as registry

    doc = registry.validate(example_document())
    first, second = Session(engine), Session(engine)
    try:
        registry.save_documents(first, [doc], actor="test:a", now=NOW)
        outcome: dict[str, Any] = {}

        def save_second() -> None:
            try:
                registry.save_documents(second, [doc], actor="test:b", now=NOW)
                outcome["result"] = "saved"
            except Conflict as err:
                outcome["result"] = err.code

        thread = threading.Thread(target=save_second)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "the second writer should wait for the first"
        first.commit()
        thread.join(10)
        assert outcome == {"result": "concurrent_change"}
        second.rollback()
    finally:
        first.close()
        second.close()
    assert _stored(engine, doc.uscc) == doc.doc
    assert _audit_rows(engine, [doc.uscc]) == 1


def test_two_replacements_in_one_transaction_keep_the_last(engine: Engine) -> None:
    """Saves share a scratch table for changed institutions: a second save in the same transaction must
    apply its own document, not the first one's again."""
    from supervision.registry import service as registry

    doc = example_document()
    with Session(engine) as s:
        registry.save_documents(s, [registry.validate(doc)], actor="test", now=NOW)
        for name in ("第一次改名培训中心", "第二次改名培训中心"):
            doc["name"] = name
            res = registry.save_documents(s, [registry.validate(doc)], actor="test", now=NOW)
            assert res.updated == [doc["uscc"]]
        s.commit()
    stored = _stored(engine, doc["uscc"])
    assert stored is not None and stored["name"] == "第二次改名培训中心"
    with engine.connect() as conn:
        version = conn.execute(
            text("SELECT version FROM institution WHERE uscc = :u"), {"u": doc["uscc"]}
        ).scalar_one()
    assert version == 3
