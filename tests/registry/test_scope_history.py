"""``licence.scope_history`` and ``escrow.since`` (formats.md) through the registry: validation, storage,
the history the registry keeps itself on a scope change, import and export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supervision.core.errors import Invalid
from supervision.registry import fastcheck, queries
from supervision.registry import service as registry
from supervision.registry.io import export, import_records, read_source
from supervision.registry.service import canonical
from tests.conftest import example_document, save_institution

WIDENED = [
    {"from": "2019-05-01", "categories": ["non_subject"], "stages": ["primary"], "modes": ["offline"]},
    {"from": "2023-03-01", "categories": ["subject"], "stages": ["primary", "junior"], "modes": ["offline"]},
]


def _with_history(history: list[dict[str, Any]], **escrow: Any) -> dict[str, Any]:
    doc = example_document()
    doc["licence"]["scope_history"] = history
    doc["escrow"] = {**doc["escrow"], **escrow}
    return doc


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(Invalid) as exc:
        registry.validate(doc)
    return [f"{p.loc}: {p.msg}" for p in exc.value.problems]


def test_a_history_and_a_first_month_are_stored_as_given_and_read_back(session: Session) -> None:
    doc = _with_history(WIDENED, since="2024-09")
    # The fast first check refuses what it does not know; the schema has the last word and accepts.
    assert not fastcheck.passes(canonical(doc))
    save_institution(session, doc)
    assert queries.document(session, doc["uscc"]) == doc


def test_a_document_without_them_reads_back_without_them(session: Session) -> None:
    doc = example_document()
    save_institution(session, doc)
    stored = queries.document(session, doc["uscc"])
    assert stored == doc
    assert stored is not None and "scope_history" not in stored["licence"] and "since" not in stored["escrow"]


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([WIDENED[1], WIDENED[0]], "strictly increasing"),
        ([{**WIDENED[0], "from": "2019-04-30"}, WIDENED[1]], "before first_approved_on"),
        ([WIDENED[0]], "last entry must equal the licence's scope"),
        ([WIDENED[0], {**WIDENED[1], "from": "2019-05-01"}], "strictly increasing"),
    ],
)
def test_a_history_breaking_a_rule_of_the_format_is_refused(history: list[Any], expected: str) -> None:
    assert any(expected in p for p in _problems(_with_history(history)))


def test_every_problem_of_a_history_and_a_month_is_named() -> None:
    doc = _with_history(
        [
            {"from": "2019-13-01", "categories": ["sport"], "stages": [], "modes": ["offline"], "x": 1},
            WIDENED[1],
        ],
        since="2024-9",
    )
    problems = _problems(doc)
    for part in (
        "licence.scope_history[0].from",
        "licence.scope_history[0].categories[0]",
        "licence.scope_history[0].stages",
        "licence.scope_history[0].x",
        "escrow.since",
    ):
        assert any(p.startswith(part) for p in problems), (part, problems)
    assert any("YYYY-MM" in p for p in problems)


def test_a_scope_change_appends_an_entry_dated_the_business_day(session: Session) -> None:
    doc = example_document()
    save_institution(session, doc)
    old_scope = dict(doc["licence"]["scope"])
    widened = {**old_scope, "stages": ["primary", "junior", "senior"]}
    doc["licence"]["scope"] = widened
    # 2026-03-01 17:00 UTC is already 2026-03-02 in Shanghai.
    save_institution(session, doc, now=dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC))
    stored = queries.document(session, doc["uscc"])
    assert stored is not None
    assert stored["licence"]["scope_history"] == [
        {"from": doc["licence"]["first_approved_on"], **old_scope},
        {"from": "2026-03-02", **widened},
    ]
    # Saved again without a history and the same scope: the history is kept and nothing changes.
    res = registry.save_documents(
        session, [registry.validate(doc)], actor="test", now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    )
    assert res.unchanged == [doc["uscc"]]
    # Narrowed later: one more entry.
    doc["licence"]["scope"] = old_scope
    save_institution(session, doc, now=dt.datetime(2026, 5, 1, 3, 0, tzinfo=dt.UTC))
    stored = queries.document(session, doc["uscc"])
    assert stored is not None
    assert [e["from"] for e in stored["licence"]["scope_history"]] == [
        "2019-05-01",
        "2026-03-02",
        "2026-05-01",
    ]


def test_an_unchanged_scope_starts_no_history(session: Session) -> None:
    doc = example_document()
    save_institution(session, doc)
    doc["name"] = doc["name"] + "（新址）"
    save_institution(session, doc)
    stored = queries.document(session, doc["uscc"])
    assert stored is not None and "scope_history" not in stored["licence"]


def test_the_api_keeps_the_history_on_an_edit(admin: httpx.Client) -> None:
    doc = example_document()
    assert admin.post("/api/v1/institutions", json=doc).status_code == 201
    doc["licence"]["scope"]["stages"] = ["preschool", "primary", "junior"]
    r = admin.put(f"/api/v1/institutions/{doc['uscc']}", json=doc)
    assert r.status_code == 200, r.text
    history = admin.get(f"/api/v1/institutions/{doc['uscc']}").json()["licence"]["scope_history"]
    assert [e["stages"] for e in history] == [["primary", "junior"], ["preschool", "primary", "junior"]]
    public = httpx.get(f"{admin.base_url}/api/v1/public/institutions/{doc['uscc']}").json()
    assert "scope_history" not in str(public)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_export_writes_them_back_and_import_reads_them(engine: Engine, tmp_path: Path, fmt: str) -> None:
    doc = _with_history(WIDENED, since="2024-09")
    with Session(engine) as s:
        save_institution(s, doc)
        s.commit()
    target = tmp_path / ("registry" if fmt == "csv" else f"registry.{fmt}")
    export(engine, target, fmt)
    with Session(engine) as s:
        registry.delete(s, doc["uscc"], actor="test", now=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
        s.commit()
    report = import_records(engine, read_source(target), actor="test", now=dt.datetime.now(dt.UTC))
    assert not report.rejected
    with Session(engine) as s:
        assert queries.document(s, doc["uscc"]) == doc


def test_a_csv_folder_of_the_first_format_still_imports(engine: Engine, tmp_path: Path) -> None:
    """``escrow_since`` and ``scope_history.csv`` are optional: older folders read as before."""
    doc = example_document()
    with Session(engine) as s:
        save_institution(s, doc)
        s.commit()
    folder = tmp_path / "registry"
    export(engine, folder, "csv")
    (folder / "scope_history.csv").unlink()
    rows = (folder / "institutions.csv").read_text(encoding="utf-8-sig").splitlines()
    (folder / "institutions.csv").write_text(
        "\n".join(line.rsplit(",", 1)[0] for line in rows) + "\n", encoding="utf-8"
    )
    records = [r for r in read_source(folder) if r.raw and r.raw["uscc"] == doc["uscc"]]
    assert records and records[0].raw == doc


def test_a_history_row_without_its_licence_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "institutions.csv").write_text(
        "uscc,name,nature,status,district,grid,address,escrow_mode,escrow_bank,escrow_account_last4\n"
        "52440106MJL1234560,某机构,non_profit,operating,天河区,石牌,某路1号,,,\n",
        encoding="utf-8",
    )
    (folder / "scope_history.csv").write_text(
        "uscc,from,categories,stages,modes\n52440106MJL1234560,2020-01-01,subject,primary,offline\n",
        encoding="utf-8",
    )
    orphans = [r for r in read_source(folder) if r.problems]
    assert any("scope_history.csv:2" in r.loc and "no licence" in r.problems[0].msg for r in orphans)
