"""The institution document of ``formats.md`` (机构档案) as validated at the door.

Unknown fields are rejected, every problem is reported at once with its field path, and a document that
passes is stored relationally and read back identical.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from rules.uscc import is_well_formed
from supervision.core.inputs import Clean

Nature = Literal["non_profit", "for_profit"]
InstitutionStatus = Literal["operating", "suspended", "closed"]
LicenceStatus = Literal["valid", "suspended", "revoked"]
Category = Literal["subject", "non_subject"]
Stage = Literal["preschool", "primary", "junior", "senior"]
Mode = Literal["online", "offline"]
EscrowMode = Literal["bank_custody", "risk_reserve"]
SUBJECTS = (
    "moral_law",
    "chinese",
    "history",
    "geography",
    "math",
    "foreign_language",
    "physics",
    "chemistry",
    "biology",
)
NON_SUBJECTS = ("sports", "arts", "science_tech", "comprehensive_practice", "other")
Subject = Literal[
    "moral_law",
    "chinese",
    "history",
    "geography",
    "math",
    "foreign_language",
    "physics",
    "chemistry",
    "biology",
    "sports",
    "arts",
    "science_tech",
    "comprehensive_practice",
    "other",
]

TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
CODE_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
DECIMAL_PATTERN = r"^\d{1,9}(\.\d{1,4})?$"
LICENCE_PATTERN = r"^\S{3,64}$"
PATTERN_HINTS = {
    TIME_PATTERN: "must be a time written HH:MM (00:00 to 23:59)",
    CODE_PATTERN: "codes are 1 to 32 letters, digits, - or _",
    DECIMAL_PATTERN: 'must be a decimal string such as "320.5" (at most 4 decimals)',
    LICENCE_PATTERN: "3 to 64 characters without spaces",
}
"""Plain explanations of the patterns, used in place of the pattern itself in error messages."""

# Bounds at the door: every date of a document lies in EARLIEST..LATEST (arithmetic on them never leaves the
# calendar), course terms and one-off lessons in TERM_EARLIEST..LATEST, and a term is at most MAX_TERM_DAYS
# long (the rules look at every day of a term). Lists are bounded far above any real institution's.
EARLIEST = dt.date(1900, 1, 1)
TERM_EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
MAX_TERM_DAYS = 731
"""Two years, a leap day included."""
MAX_PREMISES = 200
MAX_TEACHERS = 2000
MAX_COURSES = 2000
MAX_COURSE_TEACHERS = 200
MAX_SLOTS = 100
MAX_SESSIONS = 1000
MAX_PACKAGES = 100
MAX_CHOICES = 10
"""A list of choices (stages, categories, modes) names each at most once; this leaves room for a repeat."""

# Dates are validated from JSON in strict mode: only a "YYYY-MM-DD" string of a real day is accepted.
Date = Annotated[dt.date, Field(ge=EARLIEST, le=LATEST)]
TermDate = Annotated[dt.date, Field(ge=TERM_EARLIEST, le=LATEST)]
Time = Annotated[str, Field(max_length=5, pattern=TIME_PATTERN)]
Code = Annotated[str, Field(max_length=32, pattern=CODE_PATTERN)]
Fen = Annotated[int, Field(ge=0, le=10**15)]
PositiveInt = Annotated[int, Field(ge=1, le=100_000)]
Text200 = Annotated[str, Field(min_length=1, max_length=200), Clean]
Text50 = Annotated[str, Field(min_length=1, max_length=50), Clean]


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Scope(Doc):
    categories: list[Category] = Field(min_length=1, max_length=MAX_CHOICES)
    stages: list[Stage] = Field(min_length=1, max_length=MAX_CHOICES)
    modes: list[Mode] = Field(min_length=1, max_length=MAX_CHOICES)


MAX_SCOPE_HISTORY = 200
MONTH_PATTERN = r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$"
PATTERN_HINTS[MONTH_PATTERN] = "must be a month written YYYY-MM"


class ScopeEntry(Doc):
    """One entry of a licence's scope history (``licence.scope_history``): the scope in force from a date."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)
    from_: Date = Field(alias="from")
    categories: list[Category] = Field(min_length=1, max_length=MAX_CHOICES)
    stages: list[Stage] = Field(min_length=1, max_length=MAX_CHOICES)
    modes: list[Mode] = Field(min_length=1, max_length=MAX_CHOICES)


def same_scope(a: Any, b: Any) -> bool:
    """Two scopes (objects with categories, stages and modes) that cover the same: order and repeats aside."""
    return all(set(a[k]) == set(b[k]) for k in ("categories", "stages", "modes"))


def scope_history_problems(history: list[dict[str, Any]], first_approved_on: str, scope: Any) -> list[str]:
    """The rules of ``formats.md`` for a scope history: dates strictly increasing, the first not before
    ``first_approved_on``, the last entry equal to the licence's ``scope``. Dates are ``YYYY-MM-DD``."""
    problems = []
    dates = [e["from"] for e in history]
    if any(b <= a for a, b in itertools.pairwise(dates)):
        problems.append("scope_history: the entries' from dates must be strictly increasing")
    if dates and dates[0] < first_approved_on:
        problems.append("scope_history: the first entry is dated before first_approved_on")
    if history and not same_scope(history[-1], scope):
        problems.append("scope_history: the last entry must equal the licence's scope")
    return problems


class LicenceDoc(Doc):
    number: Annotated[str, Field(max_length=64, pattern=LICENCE_PATTERN), Clean]
    """Licence numbers vary by issuer (教民…号, 粤教民…): accepted leniently, without spaces."""
    first_approved_on: Date
    issued_on: Date
    valid_until: Date
    status: LicenceStatus
    scope: Scope
    scope_history: list[ScopeEntry] | None = Field(default=None, min_length=1, max_length=MAX_SCOPE_HISTORY)
    """Optional: the scopes over time, oldest first (rule BAN-SCOPE-EXTENDED reads it)."""

    @model_validator(mode="after")
    def _dates(self) -> LicenceDoc:
        if self.valid_until < self.issued_on:
            raise ValueError("valid_until is before issued_on")
        if self.issued_on < self.first_approved_on:
            raise ValueError("issued_on is before first_approved_on")
        if self.scope_history is not None:
            problems = scope_history_problems(
                [e.model_dump(by_alias=True, mode="json") for e in self.scope_history],
                self.first_approved_on.isoformat(),
                self.scope.model_dump(),
            )
            if problems:
                raise ValueError("; ".join(problems))
        return self


class EscrowDoc(Doc):
    mode: EscrowMode | None
    bank: Annotated[str, Field(max_length=100), Clean] | None
    account_last4: Annotated[str, Field(max_length=4, pattern=r"^\d{4}$")] | None
    since: Annotated[str, Field(max_length=7, pattern=MONTH_PATTERN)] | None = None
    """Optional: the first month the prepaid money was supervised (FEE-STATEMENT-MISSING counts from it)."""


class PremisesDoc(Doc):
    code: Code
    address: Text200
    area_m2: Annotated[str, Field(max_length=14, pattern=DECIMAL_PATTERN)]
    max_concurrent_students: PositiveInt

    @model_validator(mode="after")
    def _positive_area(self) -> PremisesDoc:
        if Decimal(self.area_m2) <= 0:
            raise ValueError("area_m2 must be greater than 0")
        return self


class TeacherDoc(Doc):
    code: Code
    name: Text50
    has_teacher_certificate: StrictBool
    serving_school_teacher: StrictBool


class Term(Doc):
    start: TermDate
    end: TermDate

    @model_validator(mode="after")
    def _order(self) -> Term:
        if self.end < self.start:
            raise ValueError("term end is before its start")
        if (self.end - self.start).days > MAX_TERM_DAYS:
            raise ValueError(f"a term is at most two years ({MAX_TERM_DAYS} days) long")
        return self


class Slot(Doc):
    weekday: Annotated[int, Field(ge=1, le=7)]
    start: Time
    end: Time

    @model_validator(mode="after")
    def _order(self) -> Slot:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class SessionDoc(Doc):
    date: TermDate
    start: Time
    end: Time

    @model_validator(mode="after")
    def _order(self) -> SessionDoc:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Package(Doc):
    code: Code
    lessons: PositiveInt
    months: Annotated[int, Field(ge=1, le=120)]
    price_fen: Fen


class CourseDoc(Doc):
    code: Code
    title: Text200
    category: Category
    subject: Subject
    stages: list[Stage] = Field(min_length=1, max_length=MAX_CHOICES)
    mode: Mode
    class_size_max: PositiveInt
    lesson_minutes: Annotated[int, Field(ge=1, le=600)]
    price_per_lesson_fen: Fen
    teacher_codes: list[Code] = Field(max_length=MAX_COURSE_TEACHERS)
    term: Term
    weekly_slots: list[Slot] = Field(max_length=MAX_SLOTS)
    sessions: list[SessionDoc] = Field(max_length=MAX_SESSIONS)
    prepaid_packages: list[Package] = Field(max_length=MAX_PACKAGES)

    @model_validator(mode="after")
    def _subject_matches_category(self) -> CourseDoc:
        problem = subject_problem(self.subject, self.category)
        if problem:
            raise ValueError(problem)
        return self


class InstitutionDoc(Doc):
    uscc: Annotated[str, Field(max_length=64)]
    name: Text200
    nature: Nature
    status: InstitutionStatus
    district: Text50
    grid: Text50
    address: Text200
    licence: LicenceDoc | None
    escrow: EscrowDoc | None
    premises: list[PremisesDoc] = Field(max_length=MAX_PREMISES)
    teachers: list[TeacherDoc] = Field(max_length=MAX_TEACHERS)
    courses: list[CourseDoc] = Field(max_length=MAX_COURSES)

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        if not is_well_formed(v):
            raise ValueError(
                "a unified social credit code is 18 characters from 0-9 A-H J-N P-R T U W-Y (GB 32100-2015)"
            )
        return v

    @model_validator(mode="after")
    def _codes(self) -> InstitutionDoc:
        problem = code_problems(
            premises=[p.code for p in self.premises],
            teachers=[t.code for t in self.teachers],
            courses=[(c.code, c.teacher_codes, [k.code for k in c.prepaid_packages]) for c in self.courses],
        )
        if problem:
            raise ValueError(problem)
        return self


# The checks across fields, shared by the models above (which run them only once every field they span is
# valid) and by :func:`cross_field_errors` (which runs them over the raw document when other fields are not,
# so that every problem is reported at once).


def subject_problem(subject: str, category: str) -> str | None:
    is_subject = subject in SUBJECTS
    if is_subject != (category == "subject"):
        return (
            f"subject {subject!r} is {'a' if is_subject else 'not a'} subject discipline "
            f"but category is {category!r}"
        )
    return None


def code_problems(
    *, premises: list[str], teachers: list[str], courses: list[tuple[str | None, list[str], list[str]]]
) -> str | None:
    """Codes unique within the institution, and courses naming registered teachers only. ``courses``: each
    course's code (None where it has none to compare), teacher codes and package codes, in order."""
    problems: list[str] = []
    teacher_codes = set(teachers)
    for kind, codes in (
        ("premises", premises),
        ("teacher", teachers),
        ("course", [c[0] for c in courses if c[0] is not None]),
        ("package", [k for c in courses for k in c[2]]),
    ):
        if len(set(codes)) != len(codes):
            dup = sorted({c for c in codes if codes.count(c) > 1})
            problems.append(f"{kind} codes must be unique within the institution: {', '.join(dup)}")
    for i, (_, course_teachers, _) in enumerate(courses):
        if not teacher_codes.issuperset(course_teachers):
            unknown = [c for c in course_teachers if c not in teacher_codes]
            problems.append(f"courses[{i}].teacher_codes names unknown teachers: {', '.join(unknown)}")
    return "; ".join(problems) or None


def cross_field_errors(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks across fields run over a raw document that failed validation, in pydantic's error shape
    (``loc``, ``msg``). Parts that are not of the right shape are skipped: their own errors say why."""

    def objects(value: Any) -> list[dict[str, Any]]:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def strings(value: Any) -> list[str]:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def codes(value: Any) -> list[str]:
        return [o["code"] for o in objects(value) if isinstance(o.get("code"), str)]

    errors: list[dict[str, Any]] = []
    courses = raw.get("courses")
    for i, course in enumerate(courses if isinstance(courses, list) else []):
        if not isinstance(course, dict):
            continue
        subject, category = course.get("subject"), course.get("category")
        # Only two valid values can contradict each other; an invalid one has its own error.
        if subject in SUBJECTS + NON_SUBJECTS and category in ("subject", "non_subject"):
            problem = subject_problem(subject, category)
            if problem:
                errors.append({"loc": ("courses", i), "msg": problem})
    problem = code_problems(
        premises=codes(raw.get("premises")),
        teachers=codes(raw.get("teachers")),
        courses=[
            (
                c["code"] if isinstance(c.get("code"), str) else None,
                strings(c.get("teacher_codes")),
                codes(c.get("prepaid_packages")),
            )
            if isinstance(c, dict)
            else (None, [], [])
            for c in (courses if isinstance(courses, list) else [])
        ],
    )
    if problem:
        errors.append({"loc": (), "msg": problem})
    return errors


# ------------------------------------------------------------------------- the public view (公开信息)

PUBLIC_SEARCH_FIELDS = (
    "uscc",
    "name",
    "status",
    "district",
    "grid",
    "address",
    "categories",
    "licence_number",
    "licence_status",
    "licence_valid_until",
)
"""The fields of a registry search hit that parents may see."""


def public_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Strip an institution document to its public fields."""
    lic = doc["licence"]
    esc = doc["escrow"]
    return {
        "uscc": doc["uscc"],
        "name": doc["name"],
        "nature": doc["nature"],
        "status": doc["status"],
        "district": doc["district"],
        "grid": doc["grid"],
        "address": doc["address"],
        "licence": {k: v for k, v in lic.items() if k != "scope_history"} if lic else None,
        "escrow": {
            "supervised": bool(esc and esc["mode"]),
            "mode": esc["mode"] if esc else None,
            "bank": esc["bank"] if esc else None,
        },
        "premises": [{"address": p["address"]} for p in doc["premises"]],
        "courses": [
            {
                k: c[k]
                for k in (
                    "title",
                    "category",
                    "subject",
                    "stages",
                    "mode",
                    "class_size_max",
                    "lesson_minutes",
                    "price_per_lesson_fen",
                )
            }
            for c in doc["courses"]
        ],
    }
