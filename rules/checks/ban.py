"""The ban on new approvals and the non-profit conversion (停止审批与营转非), 中办发〔2021〕40号."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rules.catalogue import rule
from rules.model import COMPULSORY, SCHOOL_STAGES
from rules.text import STAGE_ZH, course_en, course_zh

if TYPE_CHECKING:
    from rules.engine import Inspection

_BASIS = "中办发〔2021〕40号"


@rule(
    "BAN-SUBJECT-NEW",
    severity="critical",
    area="ban",
    title=("新设面向中小学生的学科类培训机构", "New subject-training institution for school students"),
    description=(
        "自{ban.effective_from}起，不再审批新的面向义务教育阶段和普通高中学生的学科类校外培训机构。"
        "许可范围包含学科类和中小学学段、且在此之后首次获批的机构属于违规新设。",
        "From {ban.effective_from} no new subject-training institutions for primary, junior or senior "
        "students are approved. An institution licensed for subject training of school students and first "
        "approved on or after that date breaks the ban.",
    ),
    legal_basis=_BASIS,
    parameters=("ban.effective_from",),
    effective_from_parameter="ban.effective_from",
)
def ban_subject_new(ins: Inspection) -> None:
    """新增学科类机构: subject scope for school stages, first approved on or after the ban."""
    licence = ins.doc.get("licence")
    if licence is None:
        return
    scope = licence["scope"]
    if "subject" not in scope["categories"]:
        return
    stages = sorted(s for s in scope["stages"] if s in SCHOOL_STAGES)
    if not stages:
        return
    ban: dt.date = ins.ctx.values["ban.effective_from"]
    first = licence["first_approved_on"]
    if first >= ban.isoformat():
        ins.report(
            "BAN-SUBJECT-NEW",
            "institution",
            f"办学许可证首次审批于{first}，在{ban.isoformat()}停止审批之后，许可范围仍含中小学学科类培训",
            f"Licence first approved on {first}, on or after the ban of {ban.isoformat()}, covers subject "
            "training for school students",
            {
                "licence.first_approved_on": first,
                "licence.scope.categories": sorted(scope["categories"]),
                "licence.scope.stages": sorted(scope["stages"]),
            },
            f"{first} >= {ban.isoformat()} is true; scope has subject and {', '.join(stages)}",
        )


@rule(
    "BAN-PRESCHOOL-NEW",
    severity="critical",
    area="ban",
    title=("新设面向学龄前儿童的培训机构", "New training institution for preschool children"),
    description=(
        "自{ban.effective_from}起，不再审批新的面向学龄前儿童的校外培训机构。"
        "是否包括非学科类机构由各地确定（本辖区：{ban.preschool_all_categories}）。",
        "From {ban.effective_from} no new off-campus training institutions for preschool children are "
        "approved. Whether this covers non-subject institutions is set locally (here: "
        "{ban.preschool_all_categories}).",
    ),
    legal_basis="中办发〔2021〕40号; 教监管〔2022〕4号 for the non-subject reading",
    parameters=("ban.effective_from", "ban.preschool_all_categories"),
    effective_from_parameter="ban.effective_from",
)
def ban_preschool_new(ins: Inspection) -> None:
    """新增学前培训机构: preschool in scope, first approved on or after the ban."""
    licence = ins.doc.get("licence")
    if licence is None:
        return
    scope = licence["scope"]
    if "preschool" not in scope["stages"]:
        return
    all_categories: bool = ins.ctx.values["ban.preschool_all_categories"]
    if not all_categories and "subject" not in scope["categories"]:
        return
    ban: dt.date = ins.ctx.values["ban.effective_from"]
    first = licence["first_approved_on"]
    if first >= ban.isoformat():
        kind_zh = "" if all_categories else "学科类"
        ins.report(
            "BAN-PRESCHOOL-NEW",
            "institution",
            f"办学许可证首次审批于{first}，在{ban.isoformat()}停止审批之后，许可范围含面向学龄前儿童的{kind_zh}培训",
            f"Licence first approved on {first}, on or after the ban of {ban.isoformat()}, covers "
            f"{'' if all_categories else 'subject '}training for preschool children",
            {
                "licence.first_approved_on": first,
                "licence.scope.categories": sorted(scope["categories"]),
                "licence.scope.stages": sorted(scope["stages"]),
            },
            f"{first} >= {ban.isoformat()} is true; scope has preschool"
            + ("" if all_categories else " and subject"),
        )


@rule(
    "BAN-PRESCHOOL-ONLINE",
    severity="critical",
    area="ban",
    title=("面向学龄前儿童开展线上培训", "Online training for preschool children"),
    description=(
        "不得面向学龄前儿童开展线上培训。",
        "No online training of any kind may be offered to preschool children.",
    ),
    legal_basis=_BASIS,
    parameters=("ban.effective_from",),
    effective_from_parameter="ban.effective_from",
)
def ban_preschool_online(ins: Inspection) -> None:
    """学龄前线上培训: an online course for preschool children."""
    for course in ins.doc["courses"]:
        if course["mode"] == "online" and "preschool" in course["stages"]:
            code = course["code"]
            ins.report(
                "BAN-PRESCHOOL-ONLINE",
                code,
                f"{course_zh(course)}是面向学龄前儿童的线上培训",
                f"{course_en(course)} is online training for preschool children",
                {f"courses[{code}].mode": "online", f"courses[{code}].stages": sorted(course["stages"])},
                "mode = online and preschool in stages",
            )


@rule(
    "NPO-SUBJECT",
    severity="major",
    area="ban",
    title=("学科类培训机构未登记为非营利性", "Subject-training institution not registered as non-profit"),
    description=(
        "面向义务教育阶段学生的学科类培训机构，应在{npo.deadline}前统一登记为非营利性机构。",
        "Institutions giving subject training to primary and junior students had to register as non-profit "
        "by {npo.deadline}.",
    ),
    legal_basis="中办发〔2021〕40号; MoE conversion notice of 2021-10",
    parameters=("npo.deadline",),
    effective_from_parameter="npo.deadline",
    effective_offset_days=1,
)
def npo_subject(ins: Inspection) -> None:
    """营转非: compulsory-stage subject training by an institution that is not non-profit."""
    doc = ins.doc
    nature = doc["nature"]
    if nature == "non_profit":
        return
    facts: dict[str, object] = {"nature": nature}
    reasons: list[str] = []
    licence = doc.get("licence")
    if licence is not None:
        scope = licence["scope"]
        if "subject" in scope["categories"] and any(s in COMPULSORY for s in scope["stages"]):
            facts["licence.scope.categories"] = sorted(scope["categories"])
            facts["licence.scope.stages"] = sorted(scope["stages"])
            reasons.append("licence scope")
    codes = sorted(
        c["code"]
        for c in doc["courses"]
        if c["category"] == "subject" and any(s in COMPULSORY for s in c["stages"])
    )
    if codes:
        facts["courses (subject, compulsory)"] = codes
        reasons.append("courses " + ", ".join(codes))
    if not reasons:
        return
    deadline = ins.ctx.values["npo.deadline"].isoformat()
    nature_zh = "营利性" if nature == "for_profit" else str(nature)
    ins.report(
        "NPO-SUBJECT",
        "institution",
        f"机构面向义务教育阶段学生开展学科类培训，但登记为{nature_zh}，未在{deadline}前转为非营利性",
        f"The institution gives subject training to compulsory-stage students but is {nature}, "
        f"not non-profit (deadline {deadline})",
        facts,
        f"nature = {nature} != non_profit; compulsory subject training by {' and '.join(reasons)}",
    )


@rule(
    "BAN-PRESCHOOL-SUBJECT",
    severity="critical",
    area="ban",
    title=("面向学龄前儿童开展线下学科类培训", "Offline subject training for preschool children"),
    description=(
        "严禁面向学龄前儿童开展线下学科类（含外语）培训：学前班、幼小衔接班、思维训练班等不得教授学科内容，"
        "无论机构何时获批。",
        "No offline subject training (foreign languages included) may be given to preschool children: "
        "preschool classes, school-readiness and 'thinking training' classes may not teach subject "
        "content, however old the licence.",
    ),
    legal_basis="中办发〔2021〕40号 (严禁…面向学龄前儿童开展线下学科类(含外语)培训)",
    parameters=("ban.effective_from",),
    effective_from_parameter="ban.effective_from",
)
def ban_preschool_subject(ins: Inspection) -> None:
    """学龄前线下学科类培训: an offline subject course for preschool children (online is
    BAN-PRESCHOOL-ONLINE)."""
    for course in ins.doc["courses"]:
        if (
            course["mode"] != "offline"
            or course["category"] != "subject"
            or "preschool" not in course["stages"]
        ):
            continue
        code = course["code"]
        ins.report(
            "BAN-PRESCHOOL-SUBJECT",
            code,
            f"{course_zh(course)}是面向学龄前儿童的线下学科类培训",
            f"{course_en(course)} is offline subject training for preschool children",
            {
                f"courses[{code}].mode": "offline",
                f"courses[{code}].category": "subject",
                f"courses[{code}].subject": course.get("subject"),
                f"courses[{code}].stages": sorted(course["stages"]),
            },
            "mode = offline and category = subject and preschool in stages",
        )


def _covers(entry: Mapping[str, Any], category: str | None, stage: str) -> bool:
    """Whether a scope (the product of its categories and stages) covers ``stage`` with ``category`` (with
    any category when None)."""
    if stage not in entry["stages"]:
        return False
    return bool(entry["categories"]) if category is None else category in entry["categories"]


def _scope_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "from": entry["from"],
        "categories": sorted(entry["categories"]),
        "stages": sorted(entry["stages"]),
        "modes": sorted(entry.get("modes") or ()),
    }


@rule(
    "BAN-SCOPE-EXTENDED",
    severity="critical",
    area="ban",
    title=("停止审批后扩大许可范围", "Licence scope widened after the ban"),
    description=(
        "自{ban.effective_from}起不再审批新的学科类和学龄前培训，也不得通过变更已有办学许可证的范围规避："
        "在此之后许可范围新增中小学学段的学科类培训，或新增学龄前学段"
        "（仅限学科类时：{ban.preschool_all_categories}为否），均属违规。",
        "From {ban.effective_from} no new subject or preschool training is approved, and an old licence may "
        "not be widened to get round the ban: a scope change on or after that date that adds subject "
        "training for a school stage, or adds the preschool stage (every category unless "
        "{ban.preschool_all_categories} is no, then subject only), breaks it.",
    ),
    legal_basis="中办发〔2021〕40号 (不再审批)",
    parameters=("ban.effective_from", "ban.preschool_all_categories"),
    effective_from_parameter="ban.effective_from",
)
def ban_scope_extended(ins: Inspection) -> None:
    """变更许可范围规避停批: an entry of the scope history from the ban on that adds subject training for a
    school stage, or the preschool stage, compared with the entry just before it. The first entry is the
    first approval (BAN-SUBJECT-NEW, BAN-PRESCHOOL-NEW judge it)."""
    licence = ins.doc.get("licence")
    history = licence.get("scope_history") if licence is not None else None
    if not history or len(history) < 2:
        return
    ban: dt.date = ins.ctx.values["ban.effective_from"]
    all_categories: bool = ins.ctx.values["ban.preschool_all_categories"]
    since = ban.isoformat()
    entries = sorted(history, key=lambda e: e["from"])
    for previous, entry in itertools.pairwise(entries):
        if entry["from"] < since:
            continue
        added = [
            s
            for s in ("primary", "junior", "senior")
            if _covers(entry, "subject", s) and not _covers(previous, "subject", s)
        ]
        preschool_category = None if all_categories else "subject"
        preschool = _covers(entry, preschool_category, "preschool") and not _covers(
            previous, preschool_category, "preschool"
        )
        if not added and not preschool:
            continue
        zh: list[str] = []
        en: list[str] = []
        cmp: list[str] = []
        if added:
            zh.append("学科类培训学段" + "、".join(STAGE_ZH[s] for s in added))
            en.append("subject training for " + ", ".join(added))
            cmp.append(", ".join(f"(subject, {s})" for s in added) + " covered now, not before")
        if preschool:
            zh.append("学龄前学段" + ("" if all_categories else "（学科类）"))
            en.append("the preschool stage" + ("" if all_categories else " with subject training"))
            cmp.append(
                ("(any category, preschool)" if all_categories else "(subject, preschool)")
                + " covered now, not before"
            )
        when = entry["from"]
        ins.report(
            "BAN-SCOPE-EXTENDED",
            when,
            f"办学许可范围于{when}变更，在{since}停止审批之后新增了{'和'.join(zh)}",
            f"The licence scope was changed on {when}, on or after the ban of {since}, adding "
            + " and ".join(en),
            {
                f"licence.scope_history[{previous['from']}]": _scope_json(previous),
                f"licence.scope_history[{when}]": _scope_json(entry),
            },
            f"{when} >= {since} is true; " + "; ".join(cmp),
        )
