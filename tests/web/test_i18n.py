"""Every piece of the public pages' chrome has its English, and the labels exist in both languages."""

from __future__ import annotations

import re

from supervision.settings import ROOT
from supervision.web.public import complaints, i18n
from supervision.web.public.i18n_en import EN

TEMPLATES = [*sorted((ROOT / "templates" / "public").glob("*.html")), ROOT / "templates" / "base.html"]


def test_every_translated_string_in_the_public_templates_has_english() -> None:
    keys = set()
    for path in TEMPLATES:
        keys |= {m[2] for m in re.finditer(r"""_\(\s*(["'])(.+?)\1""", path.read_text(encoding="utf-8"))}
    keys |= set(complaints.PROBLEM_TEXT.values())
    keys |= {
        "页面已过期或来源无法确认，您填写的内容已保留，请再次点击提交。",
        "提交过于频繁，请 {minutes} 分钟后再试。您填写的内容已保留。",
    }
    missing = sorted(k for k in keys if k not in EN)
    assert missing == []
    # placeholders survive translation
    for k in keys:
        assert set(re.findall(r"{(\w+)}", k)) == set(re.findall(r"{(\w+)}", EN[k])), k


def test_labels_and_reasons_read_in_both_languages() -> None:
    rules = {"LIC-NONE": {"title_zh": "无证办学", "title_en": "No licence"}}
    zh, en = i18n.helpers(i18n.ZH, rules), i18n.helpers(i18n.EN, rules)
    assert zh["label"]("list", "warning") == "警示名单" and en["label"]("list", "warning") == "Warning list"
    assert zh["reason_text"]("LIC-NONE R1; LIC-INACTIVE") == "无证办学（决定 R1）；LIC-INACTIVE"
    assert en["reason_text"]("LIC-NONE R1") == "No licence (decision R1)"
    assert (
        zh["why"]("moved:black") == "转入黑名单"
        and en["why"]("critical:LIC-NONE") == "critical finding: No licence (LIC-NONE)"
    )
    assert str(en["badge"]("black")) == '<span class="badge badge-black">Black list</span>'
