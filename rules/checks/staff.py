"""Staff and premises (从业人员与培训场所)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from rules.catalogue import rule
from rules.text import course_en, course_zh

if TYPE_CHECKING:
    from rules.engine import Inspection

DOUBLE_REDUCTION = dt.date(2021, 7, 24)
GUOBAN_2018_80 = dt.date(2018, 8, 22)


@rule(
    "STAFF-NO-CERT",
    severity="major",
    area="staff",
    title=("学科类培训教师无教师资格证", "Subject teacher without a teacher's certificate"),
    description=(
        "从事学科类培训的人员必须具备相应的教师资格。",
        "Everyone who teaches subject training must hold a teacher's qualification certificate.",
    ),
    legal_basis="校外培训机构从业人员管理办法(试行), 2021",
    effective_from=DOUBLE_REDUCTION,
)
def no_certificate(ins: Inspection) -> None:
    """教师资格证: every teacher of a subject course holds one. One finding per teacher and course."""
    courses = [c for c in ins.doc["courses"] if c["category"] == "subject"]
    if not courses:
        return
    teachers = {t["code"]: t for t in ins.doc["teachers"]}
    for course in courses:
        for code in sorted(set(course["teacher_codes"])):
            teacher = teachers.get(code)
            if teacher is None or teacher["has_teacher_certificate"]:
                continue
            ins.report(
                "STAFF-NO-CERT",
                f"{course['code']}/{code}",
                f"{course_zh(course)}是学科类培训，任课教师{code}（{teacher.get('name', '')}）没有教师资格证",
                f"{course_en(course)} is subject training; its teacher {code} has no teacher's certificate",
                {
                    f"courses[{course['code']}].category": "subject",
                    f"teachers[{code}].has_teacher_certificate": False,
                },
                "category = subject and has_teacher_certificate = false",
            )


@rule(
    "STAFF-SERVING-TEACHER",
    severity="major",
    area="staff",
    title=("聘用在职中小学教师", "Serving school teacher on the staff"),
    description=(
        "校外培训机构不得聘用在职中小学教师。",
        "Off-campus training institutions may not employ serving primary or secondary school teachers.",
    ),
    legal_basis="中办发〔2021〕40号; 教育部令第53号",
    effective_from=DOUBLE_REDUCTION,
)
def serving_teacher(ins: Inspection) -> None:
    """在职中小学教师: no teacher of the institution teaches at a school."""
    for teacher in ins.doc["teachers"]:
        if teacher["serving_school_teacher"]:
            code = teacher["code"]
            ins.report(
                "STAFF-SERVING-TEACHER",
                code,
                f"教师{code}（{teacher.get('name', '')}）是在职中小学教师",
                f"Teacher {code} is a serving primary or secondary school teacher",
                {f"teachers[{code}].serving_school_teacher": True},
                "serving_school_teacher = true",
            )


@rule(
    "PREM-AREA",
    severity="major",
    area="premises",
    title=("培训场所生均面积不足", "Too little floor area per student"),
    description=(
        "同一培训时段内，培训场所生均面积不得低于{premises.min_m2_per_student}平方米。",
        "At any one time the premises must give each student at least {premises.min_m2_per_student} m².",
    ),
    legal_basis="国办发〔2018〕80号",
    parameters=("premises.min_m2_per_student",),
    effective_from=GUOBAN_2018_80,
)
def premises_area(ins: Inspection) -> None:
    """生均面积: area ÷ concurrent students ≥ 3 m², compared exactly as area < minimum × students."""
    least: Decimal = ins.ctx.values["premises.min_m2_per_student"]
    num, den = least.as_integer_ratio()
    for premises in ins.doc["premises"]:
        students = premises["max_concurrent_students"]
        area = Decimal(premises["area_m2"])
        a_num, a_den = area.as_integer_ratio()
        # area / students < num / den  ⇔  a_num · den < num · students · a_den (all positive)
        if a_num * den < num * students * a_den:
            code = premises["code"]
            per_student = (area / students).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            ins.report(
                "PREM-AREA",
                code,
                f"培训场所{code}面积{premises['area_m2']}平方米，同时容纳{students}名学生，"
                f"生均约{per_student}平方米，低于{least}平方米",
                f"Premises {code}: {premises['area_m2']} m² for {students} students at a time is about "
                f"{per_student} m² per student, below {least} m²",
                {
                    f"premises[{code}].area_m2": premises["area_m2"],
                    f"premises[{code}].max_concurrent_students": students,
                },
                f"{premises['area_m2']} / {students} < {least} is true "
                f"({premises['area_m2']} < {least} × {students} = {least * students})",
            )
