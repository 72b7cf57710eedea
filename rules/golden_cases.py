"""Golden cases (标准测试用例): worked examples of every rule, on both sides of each boundary.

``golden/_base.yaml`` holds a valid institution document that breaks no rule, a statement template, the
default jurisdiction and the default evaluation date. Each other file in ``golden/`` has ``cases:``, and each
case gives only what differs from the base:

``name``
    unique within its file; the test ID is ``<file>:<name>``.
``as_of``, ``jurisdiction``
    override the base's.
``overlay``
    a candidate parameter overlay (the content of a parameter file, naming its level).
``doc``
    merged onto the base document: mappings merge key by key; a list of items with a ``code`` merges item
    by item by code (a new code is merged onto the base list's first item, ``{code: X, _delete: true}``
    removes X); an empty list, any other list and any other value replace.
``statements``
    the accepted statements, each merged onto the base's ``statement`` template; absent means no statement
    data (statement rules are not evaluated).
``expect``
    rule ID → the subjects it must report (``[]``: must report nothing). Only the rules named are checked,
    unless ``exact: true``, when the whole set of findings must equal ``expect``.
``uncovered``
    the dates that must be reported as not covered by the calendar (checked when given, or when ``exact``).
``risk``
    the risk tier the findings must set, ``{tier: red, because: [FEE-NO-ESCROW]}`` (checked when given).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.yamlio import DataFileError, load_file

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
_CASE_FIELDS = frozenset(
    {
        "name",
        "note",
        "as_of",
        "jurisdiction",
        "overlay",
        "doc",
        "statements",
        "expect",
        "exact",
        "uncovered",
        "risk",
    }
)


@dataclass(frozen=True)
class GoldenCase:
    """One worked example: inputs, and the findings (rule ID, subject) it must produce."""

    id: str
    as_of: dt.date
    jurisdiction: str
    doc: dict[str, Any]
    statements: list[dict[str, Any]] | None
    expect: dict[str, frozenset[str]]
    exact: bool = False
    uncovered: frozenset[dt.date] | None = None
    overlay: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None
    note: str = field(default="", compare=False)


def merge(base: Any, override: Any) -> Any:
    """``override`` laid onto ``base`` (see the module docstring); neither argument is changed."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = copy.deepcopy(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(override, list)
        and override
        and _coded(base)
        and _coded(override)
    ):
        items = {item["code"]: copy.deepcopy(item) for item in base}
        for item in override:
            code = item["code"]
            if item.get("_delete"):
                items.pop(code, None)
            elif code in items:
                items[code] = merge(items[code], item)
            else:
                items[code] = merge(base[0], item) if base else copy.deepcopy(item)
        return list(items.values())
    return copy.deepcopy(override)


def _coded(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "code" in item for item in items)


def _date(raw: Any) -> dt.date:
    return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))


def _jsonish(value: Any) -> Any:
    """Dates that YAML parsed are turned back into the ISO strings the document format uses."""
    if isinstance(value, dict):
        return {k: _jsonish(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonish(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def load_cases(directory: Path = GOLDEN_DIR) -> list[GoldenCase]:
    """Every golden case in ``directory``, in file and case order."""
    base = load_file(directory / "_base.yaml")
    base_doc = _jsonish(base["doc"])
    template = _jsonish(base["statement"])
    cases: list[GoldenCase] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        data = load_file(path)
        seen: set[str] = set()
        for raw in data.get("cases") or []:
            name = raw.get("name", "?")
            where = f"{path}: {name}"
            unknown = set(raw) - _CASE_FIELDS
            if unknown:
                problems.append(f"{where}: unknown fields {sorted(unknown)}")
                continue
            if name in seen:
                problems.append(f"{where}: name used twice")
                continue
            seen.add(name)
            statements = raw.get("statements")
            uncovered = raw.get("uncovered")
            cases.append(
                GoldenCase(
                    id=f"{path.stem}:{name}",
                    as_of=_date(raw.get("as_of", base["as_of"])),
                    jurisdiction=str(raw.get("jurisdiction", base["jurisdiction"])),
                    doc=merge(base_doc, _jsonish(raw.get("doc") or {})),
                    statements=None
                    if statements is None
                    else [merge(template, _jsonish(s)) for s in statements],
                    expect={k: frozenset(v or ()) for k, v in (raw.get("expect") or {}).items()},
                    exact=bool(raw.get("exact", False)),
                    uncovered=None if uncovered is None else frozenset(_date(d) for d in uncovered),
                    overlay=raw.get("overlay"),
                    risk=None
                    if raw.get("risk") is None
                    else {"tier": raw["risk"]["tier"], "because": list(raw["risk"].get("because") or [])},
                    note=str(raw.get("note", "")),
                )
            )
    if problems:
        raise DataFileError(problems)
    return cases


def produced(findings: Iterator[Any] | list[Any]) -> dict[str, frozenset[str]]:
    """Findings grouped as rule ID → subjects, the shape of a case's ``expect``."""
    out: dict[str, set[str]] = {}
    for finding in findings:
        out.setdefault(finding.rule_id, set()).add(finding.subject)
    return {k: frozenset(v) for k, v in out.items()}


def compare(case: GoldenCase, got: Mapping[str, frozenset[str]]) -> list[str]:
    """Differences between what a case expects and what was produced; empty when they agree."""
    names = set(got) | set(case.expect) if case.exact else set(case.expect)
    diffs = []
    for rule_id in sorted(names):
        want = case.expect.get(rule_id, frozenset())
        have = got.get(rule_id, frozenset())
        if want != have:
            diffs.append(f"{rule_id}: expected {sorted(want)}, got {sorted(have)}")
    return diffs
