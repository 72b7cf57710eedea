"""Registry and licensing (登记与办学许可): the credit code, the declared nature and the licence."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rules.catalogue import rule
from rules.text import CATEGORY_ZH, MODE_ZH, STAGE_ZH, course_en, course_zh
from rules.uscc import check_character, is_well_formed

if TYPE_CHECKING:
    from rules.engine import Inspection

GB32100 = dt.date(2015, 10, 1)
PRIVATE_EDUCATION_LAW = dt.date(2003, 9, 1)
_LIC_BASIS = "民办教育促进法; 校外培训行政处罚暂行办法 (教育部令第53号) art. 17"


@rule(
    "REG-USCC-CHECKSUM",
    severity="notice",
    area="registry",
    title=("统一社会信用代码校验位错误", "Credit code check character is wrong"),
    description=(
        "机构的统一社会信用代码第18位校验码与国家标准（GB 32100-2015）的计算结果不一致。"
        "可能是登记时录入错误，也可能是早期试点代码，需要工作人员核实。",
        "The 18th character of the institution's unified social credit code does not match the check "
        "character computed under GB 32100-2015. It may be a typing error or an early pilot code; staff "
        "check it by hand.",
    ),
    legal_basis="GB 32100-2015",
    effective_from=GB32100,
)
def uscc_checksum(ins: Inspection) -> None:
    """统一社会信用代码校验位: position 18 is the mod-31 check character of the first 17."""
    code = ins.doc["uscc"]
    if not is_well_formed(code):
        return
    expected = check_character(code[:17])
    if code[17] != expected:
        ins.report(
            "REG-USCC-CHECKSUM",
            "institution",
            f"统一社会信用代码{code}的第18位校验码应为{expected}，登记的是{code[17]}",
            f"Credit code {code}: check character should be {expected}, the record has {code[17]}",
            {"uscc": code},
            f"check_character({code[:17]}) = {expected} != {code[17]}",
        )


@rule(
    "REG-NATURE-MISMATCH",
    severity="notice",
    area="registry",
    title=("机构性质与信用代码不一致", "Declared nature does not match the credit code"),
    description=(
        "登记为非营利性的机构，其统一社会信用代码应以“52”（民办非企业单位）开头；"
        "营利性机构的代码不应以“52”开头。",
        "An institution declared non-profit should have a credit code starting with 52 (private "
        "non-enterprise unit); a for-profit one should not.",
    ),
    legal_basis="GB 32100-2015 type codes",
    effective_from=GB32100,
)
def nature_mismatch(ins: Inspection) -> None:
    """机构性质: a 民办非企业单位 (non-profit) has a credit code starting with 52."""
    code = ins.doc["uscc"]
    nature = ins.doc["nature"]
    is_52 = code.startswith("52")
    if nature == "non_profit" and not is_52:
        zh = f"机构登记为非营利性，但统一社会信用代码{code}不以52（民办非企业单位）开头"
        en = f"Declared non-profit, but credit code {code} does not start with 52 (non-enterprise unit)"
    elif nature == "for_profit" and is_52:
        zh = f"机构登记为营利性，但统一社会信用代码{code}以52（民办非企业单位）开头"
        en = f"Declared for-profit, but credit code {code} starts with 52 (non-enterprise unit)"
    else:
        return
    ins.report(
        "REG-NATURE-MISMATCH",
        "institution",
        zh,
        en,
        {"nature": nature, "uscc": code},
        f"nature = {nature} and uscc[0:2] = {code[:2]}",
    )


@rule(
    "LIC-NONE",
    severity="critical",
    area="licensing",
    title=("无办学许可证开展培训", "Operating without a school-running licence"),
    description=(
        "机构正在经营，但没有取得办学许可证。",
        "The institution is operating but holds no school-running licence.",
    ),
    legal_basis=_LIC_BASIS,
    effective_from=PRIVATE_EDUCATION_LAW,
)
def licence_none(ins: Inspection) -> None:
    """无证办学: operating without a 办学许可证."""
    if ins.doc["status"] == "operating" and ins.doc.get("licence") is None:
        ins.report(
            "LIC-NONE",
            "institution",
            "机构正在经营，但没有办学许可证",
            "The institution is operating without a school-running licence",
            {"status": "operating", "licence": None},
            "status = operating and licence is null",
        )


@rule(
    "LIC-EXPIRED",
    severity="critical",
    area="licensing",
    title=("办学许可证已过期", "Licence has expired"),
    description=(
        "办学许可证已超过有效期（有效期最后一天仍然有效）。",
        "The school-running licence is past its validity (it is still valid on its last day).",
    ),
    legal_basis=_LIC_BASIS,
    effective_from=PRIVATE_EDUCATION_LAW,
)
def licence_expired(ins: Inspection) -> None:
    """办学许可证过期: valid_until before the evaluation date."""
    licence = ins.doc.get("licence")
    if licence is None:
        return
    valid_until = licence["valid_until"]
    as_of = ins.ctx.as_of.isoformat()
    if valid_until < as_of:
        ins.report(
            "LIC-EXPIRED",
            "institution",
            f"办学许可证{licence.get('number', '')}有效期至{valid_until}，已过期",
            f"Licence {licence.get('number', '')} was valid until {valid_until} and has expired",
            {"licence.number": licence.get("number"), "licence.valid_until": valid_until, "as_of": as_of},
            f"{valid_until} < {as_of} is true",
        )


@rule(
    "LIC-INACTIVE",
    severity="critical",
    area="licensing",
    title=("办学许可证被暂停或吊销仍在经营", "Operating with a suspended or revoked licence"),
    description=(
        "办学许可证已被暂停或吊销，机构仍在经营。",
        "The licence has been suspended or revoked but the institution is still operating.",
    ),
    legal_basis=_LIC_BASIS,
    effective_from=PRIVATE_EDUCATION_LAW,
)
def licence_inactive(ins: Inspection) -> None:
    """许可证暂停或吊销: licence suspended or revoked while operating."""
    licence = ins.doc.get("licence")
    if licence is None or ins.doc["status"] != "operating":
        return
    status = licence["status"]
    if status in ("suspended", "revoked"):
        word = "暂停" if status == "suspended" else "吊销"
        ins.report(
            "LIC-INACTIVE",
            "institution",
            f"办学许可证{licence.get('number', '')}已被{word}，机构仍在经营",
            f"Licence {licence.get('number', '')} is {status} but the institution is operating",
            {"status": "operating", "licence.status": status},
            f"licence.status = {status} and status = operating",
        )


@rule(
    "LIC-SCOPE",
    severity="major",
    area="licensing",
    title=("超出许可范围开展培训", "Course outside the licence scope"),
    description=(
        "课程的类别（学科类/非学科类）、面向学段或授课方式（线上/线下）不在办学许可证核定的范围内。",
        "A course's category (subject or non-subject), stage or mode (online or offline) is outside the "
        "scope of the school-running licence.",
    ),
    legal_basis="licences are issued per mode and scope",
    effective_from=PRIVATE_EDUCATION_LAW,
)
def licence_scope(ins: Inspection) -> None:
    """超范围培训: each course's category, stages and mode must be in the licence scope."""
    licence = ins.doc.get("licence")
    if licence is None:
        return
    scope = licence["scope"]
    categories, stages, modes = scope["categories"], scope["stages"], scope["modes"]
    for course in ins.doc["courses"]:
        category, mode = course["category"], course["mode"]
        outside_stages = [s for s in course["stages"] if s not in stages]
        if category in categories and mode in modes and not outside_stages:
            continue
        zh: list[str] = []
        en: list[str] = []
        if category not in categories:
            zh.append(f"类别{CATEGORY_ZH.get(category, category)}")
            en.append(f"category {category}")
        for stage in sorted(set(outside_stages)):
            zh.append(f"学段{STAGE_ZH.get(stage, stage)}")
            en.append(f"stage {stage}")
        if mode not in modes:
            zh.append(f"方式{MODE_ZH.get(mode, mode)}")
            en.append(f"mode {mode}")
        ins.report(
            "LIC-SCOPE",
            course["code"],
            f"{course_zh(course)}超出办学许可范围：{'、'.join(zh)}不在许可范围内",
            f"{course_en(course)} is outside the licence scope: {', '.join(en)} not licensed",
            {
                f"courses[{course['code']}].category": category,
                f"courses[{course['code']}].stages": sorted(course["stages"]),
                f"courses[{course['code']}].mode": mode,
                "licence.scope": {
                    "categories": sorted(categories),
                    "stages": sorted(stages),
                    "modes": sorted(modes),
                },
            },
            "; ".join(f"{item} not in scope" for item in en),
        )


DOUBLE_REDUCTION = dt.date(2021, 7, 24)


@rule(
    "LIC-EXPIRING",
    severity="notice",
    area="licensing",
    title=("办学许可证即将到期", "Licence about to expire"),
    description=(
        "办学许可证有效，但距有效期届满不足{licence.expiry_warning_days}天，机构应及时申请延续。",
        "The licence is valid but expires in fewer than {licence.expiry_warning_days} days; the institution "
        "should apply for renewal in time.",
    ),
    legal_basis="renewal is applied for before expiry (民办教育促进法); the seed's 风险预警",
    parameters=("licence.expiry_warning_days",),
    effective_from=DOUBLE_REDUCTION,
)
def licence_expiring(ins: Inspection) -> None:
    """许可证即将到期: a valid licence whose last day is fewer than 60 days away (59 fires, 60 does not)."""
    licence = ins.doc.get("licence")
    if licence is None or licence["status"] != "valid":
        return
    as_of = ins.ctx.as_of
    valid_until = dt.date.fromisoformat(licence["valid_until"])
    if valid_until < as_of:
        return
    days: int = ins.ctx.values["licence.expiry_warning_days"]
    left = (valid_until - as_of).days
    if left >= days:
        return
    ins.report(
        "LIC-EXPIRING",
        "institution",
        f"办学许可证{licence.get('number', '')}有效期至{valid_until.isoformat()}，还有{left}天到期"
        f"（不足{days}天），请及时办理延续",
        f"Licence {licence.get('number', '')} is valid until {valid_until.isoformat()} and expires in {left} "
        f"days (fewer than {days}); renewal is due",
        {
            "licence.number": licence.get("number"),
            "licence.status": "valid",
            "licence.valid_until": valid_until.isoformat(),
            "as_of": as_of.isoformat(),
        },
        f"{as_of.isoformat()} <= {valid_until.isoformat()} and {valid_until.isoformat()} - "
        f"{as_of.isoformat()} = {left} days < {days} is true",
    )
