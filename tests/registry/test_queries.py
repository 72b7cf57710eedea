"""A course's slots, sessions and packages keep to their course without per-row foreign keys (migration 0008):
the statement-level triggers refuse a missing course, cascade deletes and truncation, and keep ids fixed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlmodel import Session

from supervision.registry import service as registry
from tests.conftest import example_document

NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
CHILDREN = ("course_slot", "course_session", "prepaid_package")


def _children(session: Session, course_ids: list[int]) -> dict[str, int]:
    return {
        t: session.execute(
            text(f"SELECT count(*) FROM {t} WHERE course_id = ANY(:ids)"), {"ids": course_ids}
        ).scalar_one()
        for t in CHILDREN
    }


def _course_ids(session: Session, uscc: str) -> list[int]:
    return list(
        session.execute(
            text("SELECT c.id FROM course c JOIN institution i ON i.id = c.institution_id WHERE i.uscc = :u"),
            {"u": uscc},
        ).scalars()
    )


@pytest.fixture
def saved(session: Session) -> tuple[dict, list[int]]:  # type: ignore[type-arg]
    doc = example_document()
    second = dict(doc["courses"][0], code="C2", title="第二门课")
    second["prepaid_packages"] = [dict(k, code="P2") for k in second["prepaid_packages"]]
    doc["courses"].append(second)
    registry.save_one(session, doc, actor="test", now=NOW, mode="create")
    ids = _course_ids(session, doc["uscc"])
    assert len(ids) == 2
    assert _children(session, ids) == {t: 2 for t in CHILDREN}
    return doc, ids


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO course_slot (course_id, weekday, start, \"end\") VALUES (:missing, 1, '18:00', '19:00')",
        'INSERT INTO course_session (course_id, date, start, "end")'
        " VALUES (:missing, '2026-12-01', '18:00', '19:00')",
        "INSERT INTO prepaid_package (course_id, code, lessons, months, price_fen)"
        " VALUES (:missing, 'X', 1, 1, 1)",
        "UPDATE course_slot SET course_id = :missing WHERE course_id = :existing",
        "UPDATE prepaid_package SET course_id = :missing WHERE course_id = :existing",
    ],
)
def test_a_row_naming_a_missing_course_is_refused(session: Session, saved, sql: str) -> None:  # type: ignore[no-untyped-def]
    _, ids = saved
    missing = session.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM course")).scalar_one()
    nested = session.begin_nested()
    with pytest.raises(sqlalchemy.exc.IntegrityError, match=f"course {missing} does not exist") as err:
        session.execute(text(sql), {"missing": missing, "existing": ids[0]})
    assert getattr(err.value.orig, "sqlstate", None) == "23503"
    nested.rollback()


def test_deleting_an_institution_deletes_its_courses_rows(session: Session, saved) -> None:  # type: ignore[no-untyped-def]
    doc, ids = saved
    registry.delete(session, doc["uscc"], actor="test", now=NOW)
    assert _children(session, ids) == {t: 0 for t in CHILDREN}


def test_replacing_a_document_leaves_no_rows_of_its_old_courses(session: Session, saved) -> None:  # type: ignore[no-untyped-def]
    doc, old_ids = saved
    doc["courses"] = doc["courses"][:1]
    outcome, stored = registry.save_one(session, doc, actor="test", now=NOW, mode="upsert")
    assert outcome == "updated"
    assert stored["courses"] == doc["courses"]
    new_ids = _course_ids(session, doc["uscc"])
    assert len(new_ids) == 1 and not set(new_ids) & set(old_ids)
    assert _children(session, old_ids) == {t: 0 for t in CHILDREN}
    assert _children(session, new_ids) == {t: 1 for t in CHILDREN}


def test_truncating_courses_truncates_their_rows(session: Session, saved) -> None:  # type: ignore[no-untyped-def]
    nested = session.begin_nested()
    session.execute(text("TRUNCATE course"))
    assert {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in CHILDREN} == {
        t: 0 for t in CHILDREN
    }
    nested.rollback()


def test_a_course_id_cannot_change(session: Session, saved) -> None:  # type: ignore[no-untyped-def]
    _, ids = saved
    nested = session.begin_nested()
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="cannot change"):
        session.execute(text("UPDATE course SET id = id + 100000 WHERE id = :id"), {"id": ids[0]})
    nested.rollback()
    # Other columns of a course change freely.
    session.execute(text("UPDATE course SET title = 'x' WHERE id = :id"), {"id": ids[0]})
