"""A fast first check of an institution document: the schema of :mod:`schemas` again, for msgspec.

The pydantic schema was the largest share of an import's Python time (24 µs a demo document in isolation,
more inside an import, where the models it builds keep the garbage collector busy); msgspec decodes and
checks the same canonical bytes, cross-field rules included, in about 16 µs. A document that passes here is
valid. One that does not is validated again by the pydantic schema, which lists every problem with its
path (msgspec stops at the first) and has the last word, so this check may be stricter than the schema but
never more lenient: where the two could differ it is written to refuse (patterns end in ``\\Z``, not
``$``, which in Python also matches before a final newline; digits are ``[0-9]``, not ``\\d``).
``tests/registry/test_fastcheck.py`` holds the two to that: every document this check accepts, among thousands
of generated and mutated ones, the schema accepts too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import msgspec

from rules.uscc import is_well_formed
from supervision.registry.schemas import (
    EARLIEST,
    LATEST,
    MAX_CHOICES,
    MAX_COURSE_TEACHERS,
    MAX_COURSES,
    MAX_PACKAGES,
    MAX_PREMISES,
    MAX_SESSIONS,
    MAX_SLOTS,
    MAX_TEACHERS,
    MAX_TERM_DAYS,
    TERM_EARLIEST,
    Category,
    EscrowMode,
    InstitutionStatus,
    LicenceStatus,
    Mode,
    Nature,
    Stage,
    Subject,
    code_problems,
    subject_problem,
)

M = msgspec.Meta
Time = Annotated[str, M(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z")]
Code = Annotated[str, M(pattern=r"^[A-Za-z0-9_-]{1,32}\Z")]
Fen = Annotated[int, M(ge=0, le=10**15)]
PositiveInt = Annotated[int, M(ge=1, le=100_000)]
Text200 = Annotated[str, M(min_length=1, max_length=200)]


class _Doc(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    pass


class Scope(_Doc):
    categories: Annotated[list[Category], M(min_length=1, max_length=MAX_CHOICES)]
    stages: Annotated[list[Stage], M(min_length=1, max_length=MAX_CHOICES)]
    modes: Annotated[list[Mode], M(min_length=1, max_length=MAX_CHOICES)]


class Licence(_Doc):
    number: Annotated[str, M(pattern=r"^\S{3,64}\Z")]
    first_approved_on: dt.date
    issued_on: dt.date
    valid_until: dt.date
    status: LicenceStatus
    scope: Scope


class Escrow(_Doc):
    mode: EscrowMode | None
    bank: Annotated[str, M(max_length=100)] | None
    account_last4: Annotated[str, M(pattern=r"^[0-9]{4}\Z")] | None


class Premises(_Doc):
    code: Code
    address: Text200
    area_m2: Annotated[str, M(pattern=r"^[0-9]{1,9}(\.[0-9]{1,4})?\Z")]
    max_concurrent_students: PositiveInt


class Teacher(_Doc):
    code: Code
    name: Annotated[str, M(min_length=1, max_length=50)]
    has_teacher_certificate: bool
    serving_school_teacher: bool


class Term(_Doc):
    start: dt.date
    end: dt.date


class Slot(_Doc):
    weekday: Annotated[int, M(ge=1, le=7)]
    start: Time
    end: Time


class Session(_Doc):
    date: dt.date
    start: Time
    end: Time


class Package(_Doc):
    code: Code
    lessons: PositiveInt
    months: Annotated[int, M(ge=1, le=120)]
    price_fen: Fen


class Course(_Doc):
    code: Code
    title: Text200
    category: Category
    subject: Subject
    stages: Annotated[list[Stage], M(min_length=1, max_length=MAX_CHOICES)]
    mode: Mode
    class_size_max: PositiveInt
    lesson_minutes: Annotated[int, M(ge=1, le=600)]
    price_per_lesson_fen: Fen
    teacher_codes: Annotated[list[Code], M(max_length=MAX_COURSE_TEACHERS)]
    term: Term
    weekly_slots: Annotated[list[Slot], M(max_length=MAX_SLOTS)]
    sessions: Annotated[list[Session], M(max_length=MAX_SESSIONS)]
    prepaid_packages: Annotated[list[Package], M(max_length=MAX_PACKAGES)]


class Institution(_Doc):
    uscc: Annotated[str, M(max_length=64)]
    name: Text200
    nature: Nature
    status: InstitutionStatus
    district: Annotated[str, M(min_length=1, max_length=50)]
    grid: Annotated[str, M(min_length=1, max_length=50)]
    address: Text200
    licence: Licence | None
    escrow: Escrow | None
    premises: Annotated[list[Premises], M(max_length=MAX_PREMISES)]
    teachers: Annotated[list[Teacher], M(max_length=MAX_TEACHERS)]
    courses: Annotated[list[Course], M(max_length=MAX_COURSES)]


_decoder = msgspec.json.Decoder(Institution)


def _sound(d: Institution) -> bool:
    """The schema's checks across fields (its ``model_validator``\\ s), on a decoded document."""
    if not is_well_formed(d.uscc):
        return False
    lic = d.licence
    if lic is not None and (lic.valid_until < lic.issued_on or lic.issued_on < lic.first_approved_on):
        return False
    if lic is not None and not (lic.first_approved_on >= EARLIEST and lic.valid_until <= LATEST):
        return False
    if any(Decimal(p.area_m2) <= 0 for p in d.premises):
        return False
    for c in d.courses:
        if c.term.end < c.term.start or subject_problem(c.subject, c.category):
            return False
        if (
            c.term.start < TERM_EARLIEST
            or c.term.end > LATEST
            or (c.term.end - c.term.start).days > MAX_TERM_DAYS
        ):
            return False
        if any(not TERM_EARLIEST <= s.date <= LATEST for s in c.sessions):
            return False
        if any(s.end <= s.start for s in c.weekly_slots) or any(s.end <= s.start for s in c.sessions):
            return False
    return not code_problems(
        premises=[p.code for p in d.premises],
        teachers=[t.code for t in d.teachers],
        courses=[(c.code, c.teacher_codes, [k.code for k in c.prepaid_packages]) for c in d.courses],
    )


def passes(data: bytes) -> bool:
    """True when the canonical JSON ``data`` is a valid institution document (see the module's docstring
    for what False means: not necessarily invalid, only "ask the schema")."""
    if b"\\u0000" in data:
        return False  # text PostgreSQL cannot store (or a backslash before u0000): the schema tells which
    try:
        doc = _decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False
    return _sound(doc)
