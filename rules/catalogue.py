"""The rule catalogue (规则目录), published as the public negative list (负面清单).

Automatic rules register themselves with :func:`rule` where their check is written (``rules/checks/``); the
conduct types that enforcement staff record by hand are listed here. :func:`all_rules` returns them all,
sorted by ID.

Descriptions may name parameters in braces, e.g. ``{time.offline_latest_end}``; an evaluation context fills
them with the values in force (``Context.describe``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from rules.model import Rule, Severity
from rules.parameters import SPECS

if TYPE_CHECKING:
    from rules.engine import Inspection

Check = Callable[["Inspection"], None]

_RULES: dict[str, Rule] = {}
_CHECKS: dict[str, Check] = {}


def _register(entry: Rule) -> None:
    if entry.id in _RULES:
        raise ValueError(f"rule {entry.id} is registered twice")
    for name in (*entry.parameters, *entry.optional_parameters, entry.effective_from_parameter):
        if name is not None and name not in SPECS:
            raise ValueError(f"rule {entry.id} names unknown parameter {name}")
    if entry.automatic and (entry.effective_from is None) == (entry.effective_from_parameter is None):
        raise ValueError(f"rule {entry.id} needs exactly one of effective_from, effective_from_parameter")
    _RULES[entry.id] = entry


def rule(
    rule_id: str,
    *,
    severity: Severity,
    area: str,
    title: tuple[str, str],
    description: tuple[str, str],
    legal_basis: str,
    parameters: tuple[str, ...] = (),
    optional_parameters: tuple[str, ...] = (),
    effective_from: dt.date | None = None,
    effective_from_parameter: str | None = None,
    effective_offset_days: int = 0,
    version: int = 1,
) -> Callable[[Check], Check]:
    """Register an automatic rule: its metadata and the function that checks it.

    ``title`` and ``description`` are (Chinese, English). ``parameters`` must all be in force on the
    evaluation date for the rule to run; ``optional_parameters`` are used when they are.
    """

    def decorate(check: Check) -> Check:
        _register(
            Rule(
                id=rule_id,
                version=version,
                severity=severity,
                area=area,
                title_zh=title[0],
                title_en=title[1],
                description_zh=description[0],
                description_en=description[1],
                legal_basis=legal_basis,
                parameters=(*parameters, *optional_parameters),
                optional_parameters=optional_parameters,
                effective_from=effective_from,
                effective_from_parameter=effective_from_parameter,
                effective_offset_days=effective_offset_days,
            )
        )
        _CHECKS[rule_id] = check
        return check

    return decorate


def _conduct(
    rule_id: str, severity: Severity, title: tuple[str, str], description: tuple[str, str], basis: str
) -> None:
    _register(
        Rule(
            id=rule_id,
            version=1,
            severity=severity,
            area="conduct",
            title_zh=title[0],
            title_en=title[1],
            description_zh=description[0],
            description_en=description[1],
            legal_basis=basis,
            automatic=False,
        )
    )


_conduct(
    "CONDUCT-DISGUISED",
    "critical",
    ("隐形变异开展学科类培训", "Disguised subject training"),
    (
        "在居民楼、酒店、咖啡馆等场所，或以“游学”“研学”“夏令营”“家政服务”“住家教师”“思维训练”等名义，"
        "隐形变异开展学科类培训。",
        "Subject training disguised or hidden: in homes, hotels or cafés, or under names such as study "
        "tours, camps, housekeeping, live-in tutors or thinking training.",
    ),
    "中办发〔2021〕40号; 校外培训行政处罚暂行办法 (教育部令第53号) art. 18",
)
_conduct(
    "CONDUCT-ADVERTISING",
    "major",
    ("虚假宣传、不实广告", "False or misleading advertising"),
    (
        "发布虚假或夸大的招生宣传和广告，例如承诺提分、夸大师资，或在校内和公共场所违规投放校外培训广告。",
        "False or exaggerated advertising, such as promised score gains or inflated claims about teachers, "
        "or off-campus training adverts placed where they are not allowed.",
    ),
    "中办发〔2021〕40号; 中华人民共和国广告法",
)
_conduct(
    "CONDUCT-SCHOOL-COOP",
    "major",
    ("与学校合作向学生收费", "Charging students through a school"),
    (
        "与中小学校合作招生或开展培训，并借此向学生收取费用。",
        "Recruiting or training students together with a school and charging them through that cooperation.",
    ),
    "中办发〔2021〕40号",
)
_conduct(
    "CONDUCT-AHEAD-OF-CURRICULUM",
    "major",
    ("超标超前培训", "Teaching beyond or ahead of the curriculum"),
    (
        "培训内容超出国家课程标准，或超前于学校教学进度。",
        "Teaching content beyond the national curriculum standards or ahead of the school's teaching "
        "schedule.",
    ),
    "中办发〔2021〕40号; 国办发〔2018〕80号",
)
_conduct(
    "CONDUCT-REFUND",
    "major",
    ("拒绝或拖延退费", "Refusing or delaying refunds"),
    (
        "家长按合同申请退费时，机构拒绝退还或拖延退还未消课的费用。",
        "Refusing or delaying the refund of fees for lessons not yet given when a family asks under the "
        "contract.",
    ),
    "教监管函〔2021〕2号; 中小学生校外培训服务合同(示范文本) GF—2021—2604",
)
_conduct(
    "CONDUCT-OTHER",
    "minor",
    ("其他违规行为", "Other misconduct"),
    (
        "其他违反校外培训管理规定的行为，具体情况见案件记录。",
        "Any other breach of the rules on off-campus training, as described in the case.",
    ),
    "校外培训行政处罚暂行办法 (教育部令第53号)",
)


def all_rules() -> tuple[Rule, ...]:
    """Every rule, automatic and officer-recorded, sorted by ID."""
    import rules.checks  # noqa: F401  (registers the automatic rules)

    return tuple(_RULES[k] for k in sorted(_RULES))


def all_checks() -> dict[str, Check]:
    """The check function of every automatic rule, by rule ID."""
    import rules.checks  # noqa: F401

    return dict(_CHECKS)


def get(rule_id: str) -> Rule:
    """One rule by ID; ``KeyError`` for an unknown ID."""
    import rules.checks  # noqa: F401

    return _RULES[rule_id]
