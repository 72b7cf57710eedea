"""The rule engine (规则引擎): facts in, findings out.

    engine = Engine.load("440106")            # jurisdiction chain: parameters and calendars, validated
    ctx = engine.at(datetime.date(2026, 11, 30))   # every parameter resolved once for the date
    result = ctx.evaluate(doc, statements)    # -> Evaluation(findings, uncovered_dates, risk)
    ctx.risk(open_findings, complaints_30d=n)      # the service's risk tier, complaints counted
    engine.calendar_coverage(as_of)           # how far ahead the calendar data reaches, and what is missing

``doc`` is the institution document of the data formats (a plain dict as parsed from JSON) and is assumed to
have passed the door's validation. ``statements`` are the institution's accepted (not superseded) escrow
statements in any order; ``None`` means "no statement data supplied", and then the rules that read statements
are not evaluated (``[]`` means the institution has none, which FEE-STATEMENT-MISSING may report).

A statement is a dict with the summary fields of the data formats (``period``, ``mode``, the balances and
totals, ``unearned_liability_fen``) and its ``lines``. FEE-PREPAY-CAP reads the ``receipt`` lines of every
statement; RISK-LARGE-RELEASE reads the ``release`` and ``refund`` lines of the latest one, so the latest
statement must be passed with all its lines. The other rules read the summary fields only.

Parameters are resolved once for ``as_of``. A rule that judges something by the limits in force on its own
date (a receipt line by the line's ``date``) asks :meth:`Context.values_on`, which resolves through the same
chain lazily and caches per parameter segment, so an evaluation that needs no other date does no extra work.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.calendar import Calendar, CalendarCoverage, load_calendar
from rules.catalogue import all_checks, all_rules
from rules.model import Evaluation, Finding, Rule
from rules.parameters import ParameterChain, Resolved, canonical_hash, load_chain, to_jsonable
from rules.risk import Risk, risk_tier
from rules.text import display_value
from rules.yamlio import DataFileError, load_file

DATA_DIR = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{([a-z_]+\.[a-z_]+)\}")


@dataclass(frozen=True)
class Jurisdiction:
    """A level of the jurisdiction chain (辖区): national, a province, a city or a district."""

    code: str
    name_zh: str
    name_en: str
    parent: str | None
    kind: str
    grids: tuple[str, ...] = ()
    """The supervision grids (网格) of this level, e.g. a district's subdistricts (街道); may be empty."""


def load_jurisdictions(path: Path) -> dict[str, Jurisdiction]:
    """Read ``jurisdictions.yaml``: each code's names, parent and kind."""
    data = load_file(path)
    problems: list[str] = []
    out: dict[str, Jurisdiction] = {}
    entries = data.get("jurisdictions") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise DataFileError(
            [f"{path}: expected 'jurisdictions:' mapping codes to name_zh, name_en, parent, kind"]
        )
    fields = {"name_zh", "name_en", "parent", "kind"}
    optional = {"grids"}
    for code, raw in entries.items():
        at = f"{path}: jurisdictions.{code}"
        if not isinstance(code, str):
            problems.append(f"{at}: codes must be quoted strings like '440100'")
            continue
        if not isinstance(raw, dict) or not fields <= set(raw) <= fields | optional:
            problems.append(f"{at}: expected the fields {sorted(fields)} and optionally {sorted(optional)}")
            continue
        grids = raw.get("grids", [])
        if not isinstance(grids, list) or not all(isinstance(g, str) and g.strip() == g and g for g in grids):
            problems.append(f"{at}: grids: expected a list of names")
            continue
        if len(set(grids)) != len(grids):
            problems.append(f"{at}: grids: a name is listed twice")
            continue
        if raw["kind"] not in ("national", "province", "city", "district"):
            problems.append(f"{at}: kind: expected national, province, city or district")
            continue
        out[code] = Jurisdiction(
            code, str(raw["name_zh"]), str(raw["name_en"]), raw["parent"], raw["kind"], tuple(grids)
        )
    for j in out.values():
        if j.parent is not None and j.parent not in out:
            problems.append(f"{path}: jurisdictions.{j.code}: parent: {j.parent!r} is not a known code")
    if problems:
        raise DataFileError(problems)
    return out


class Engine:
    """The rules of one jurisdiction: its parameter chain, its calendar and the catalogue."""

    def __init__(
        self,
        jurisdiction: Jurisdiction,
        chain: tuple[Jurisdiction, ...],
        parameters: ParameterChain,
        calendar: Calendar,
    ) -> None:
        self.jurisdiction = jurisdiction
        self.chain = chain
        self.parameters = parameters
        self.calendar = calendar
        self.rules = all_rules()
        self.checks = all_checks()
        self.parameter_set_hash = canonical_hash(
            {
                "chain": [j.code for j in chain],
                "parameters": parameters.canonical(),
                "calendar": calendar.canonical(),
            }
        )

    @classmethod
    def load(
        cls,
        jurisdiction: str,
        *,
        overlays: Sequence[Path | Mapping[str, Any]] = (),
        data_dir: Path | None = None,
    ) -> Engine:
        """Load and check the parameters and calendars from national down to ``jurisdiction``.

        ``overlays`` are candidate parameter files (paths, or their content as a mapping) each naming the
        level it changes: every parameter it names replaces that level's periods (a dry run of a new local
        rule). ``data_dir`` holds ``jurisdictions.yaml``, ``parameters/`` and ``calendars/`` (default: the
        data shipped with this package). Raises :class:`DataFileError` listing every problem.
        """
        base = data_dir or DATA_DIR
        known = load_jurisdictions(base / "parameters" / "jurisdictions.yaml")
        if jurisdiction not in known:
            raise DataFileError([f"unknown jurisdiction {jurisdiction!r}; known: {sorted(known)}"])
        chain: list[Jurisdiction] = []
        code: str | None = jurisdiction
        while code is not None:
            if any(j.code == code for j in chain):
                raise DataFileError([f"jurisdictions.yaml: the parents of {jurisdiction!r} form a loop"])
            chain.append(known[code])
            code = known[code].parent
        chain.reverse()
        codes = [j.code for j in chain]
        loaded: list[tuple[str, Any]] = []
        for i, overlay in enumerate(overlays):
            if isinstance(overlay, Path):
                loaded.append((str(overlay), load_file(overlay)))
            else:
                loaded.append((f"overlay {i + 1}", dict(overlay)))
        kinds = {code: j.kind for code, j in known.items()}
        parameters = load_chain(base / "parameters", codes, kinds, loaded)
        calendar = load_calendar(base / "calendars", codes)
        return cls(chain[-1], tuple(chain), parameters, calendar)

    def at(self, as_of: dt.date) -> Context:
        """An evaluation context for ``as_of``: parameters resolved and rules selected once, reusable."""
        return Context(self, as_of)

    def calendar_coverage(self, as_of: dt.date) -> CoverageCheck:
        """How far ahead of ``as_of`` the calendar data reaches (校历数据覆盖检查), for staff.

        ``covered_until`` is the last day up to which the State Council holiday notice and both stage
        groups' school vacations are known without a gap from ``as_of`` (None when ``as_of`` itself is not
        covered); ``warn`` is true when fewer than ``calendar.warning_days`` (default
        :data:`CALENDAR_WARNING_DAYS`) days are left; ``missing`` says in Chinese and English what data is
        missing from ``as_of`` to the warning horizon (and at the end of the coverage).
        """
        resolved = self.parameters.resolve(as_of).get("calendar.warning_days")
        warning_days = int(resolved.value) if resolved is not None else CALENDAR_WARNING_DAYS
        detail = self.calendar.coverage(as_of)
        until = detail.covered_until
        days_left = (until - as_of).days if until is not None else None
        horizon = as_of + dt.timedelta(days=warning_days)
        if until is not None and until >= horizon and until < dt.date.max:
            horizon = until + dt.timedelta(days=1)
        missing_zh, missing_en = self.calendar.missing_between(as_of, horizon)
        return CoverageCheck(
            as_of=as_of,
            jurisdiction=self.jurisdiction.code,
            covered_until=until,
            days_left=days_left,
            warning_days=warning_days,
            warn=days_left is None or days_left < warning_days,
            missing_zh=missing_zh,
            missing_en=missing_en,
            detail=detail,
        )


CALENDAR_WARNING_DAYS = 60
"""Warn when the calendar data covers fewer days than this after the business date (used when the parameter
``calendar.warning_days`` is not in force)."""


@dataclass(frozen=True)
class CoverageCheck:
    """The answer of :meth:`Engine.calendar_coverage`: plain data for ``supervision calendar check``, the run
    page and the dashboard."""

    as_of: dt.date
    jurisdiction: str
    covered_until: dt.date | None
    days_left: int | None
    warning_days: int
    warn: bool
    missing_zh: tuple[str, ...]
    missing_en: tuple[str, ...]
    detail: CalendarCoverage

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "jurisdiction": self.jurisdiction,
            "covered_until": self.covered_until.isoformat() if self.covered_until else None,
            "days_left": self.days_left,
            "warning_days": self.warning_days,
            "warn": self.warn,
            "missing_zh": list(self.missing_zh),
            "missing_en": list(self.missing_en),
            "detail": self.detail.to_dict(),
        }


class Memo:
    """A memo of checks' work for one evaluation date, bounded: each entry weighs 1 plus what it holds (the
    days of a term's uncovered dates, say), and once ``budget`` is spent it starts afresh. A context lives
    as long as its process and serves every institution of its date, so the memo must not grow with what
    the documents it sees hold."""

    __slots__ = ("budget", "entries", "spent")

    def __init__(self, budget: int = 50_000) -> None:
        self.budget = budget
        self.entries: dict[Any, Any] = {}
        self.spent = 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: Any, default: Any = None) -> Any:
        return self.entries.get(key, default)

    def put(self, key: Any, value: Any, weight: int = 1) -> None:
        """Keep ``value`` under ``key``; a value weighing more than the whole budget is not kept."""
        if weight > self.budget:
            return
        if self.spent + weight > self.budget:
            self.entries.clear()
            self.spent = 0
        self.entries[key] = value
        self.spent += weight

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value)


class Context:
    """Everything about one evaluation date that does not depend on the institution."""

    def __init__(self, engine: Engine, as_of: dt.date) -> None:
        self.engine = engine
        self.calendar = engine.calendar
        self.as_of = as_of
        self.month = f"{as_of.year:04d}-{as_of.month:02d}"
        self.resolved: dict[str, Resolved] = engine.parameters.resolve(as_of)
        self.values: dict[str, Any] = {name: r.value for name, r in self.resolved.items()}
        self._traces = {name: r.trace() for name, r in self.resolved.items()}
        self.active: tuple[Rule, ...] = tuple(r for r in engine.rules if r.automatic and self._applies(r))
        self._checks = tuple(engine.checks[r.id] for r in self.active)
        self._rules = {r.id: r for r in engine.rules}
        self.cache = Memo()
        """Per-date memo for checks (e.g. a course term's vacation overlap), bounded (:class:`Memo`)."""
        self._on: dict[dt.date | None, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
        self._segment = engine.parameters.segment(as_of)

    def _applies(self, rule: Rule) -> bool:
        required = (p for p in rule.parameters if p not in rule.optional_parameters)
        if any(p not in self.values for p in required):
            return False
        return (start := self.starts(rule)) is not None and start <= self.as_of

    def starts(self, rule: Rule) -> dt.date | None:
        """The date ``rule`` starts to apply under this context's parameters, or None if not set."""
        if rule.effective_from_parameter is None:
            return rule.effective_from
        start = self.values.get(rule.effective_from_parameter)
        if not isinstance(start, dt.date):
            return None
        return start + dt.timedelta(days=rule.effective_offset_days)

    def values_on(self, day: dt.date) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The parameter values in force on another ``day`` and their traces, resolved through the same
        chain. Resolved lazily and cached per parameter segment (a stretch of days on which no parameter
        changes), so the cache is bounded by the data, not by the dates asked about."""
        segment = self.engine.parameters.segment(day)
        if segment == self._segment:
            return self.values, self._traces
        hit = self._on.get(segment)
        if hit is None:
            resolved = self.engine.parameters.resolve(day)
            hit = ({n: r.value for n, r in resolved.items()}, {n: r.trace() for n, r in resolved.items()})
            self._on[segment] = hit
        return hit

    def risk(self, open_findings: Iterable[tuple[str, str]], *, complaints_30d: int = 0) -> Risk:
        """The risk tier of an institution with these open ``(rule_id, subject)`` findings and this many
        complaints received in the last 30 days, with the ``risk.complaints_30d`` threshold in force on
        ``as_of`` (complaints are not counted when the parameter is not in force)."""
        threshold = self.values.get("risk.complaints_30d")
        return risk_tier(open_findings, complaints_30d=complaints_30d, complaint_threshold=threshold)

    def parameter(self, name: str) -> Resolved | None:
        """A parameter's value in force on ``as_of`` with its provenance, or None when none is in force."""
        return self.resolved.get(name)

    def evaluate(
        self, doc: Mapping[str, Any], statements: Sequence[Mapping[str, Any]] | None = None
    ) -> Evaluation:
        """Evaluate every rule in force on one institution document (and its accepted statements)."""
        inspection = Inspection(self, doc, _statements(statements, self.month))
        for check in self._checks:
            check(inspection)
        findings = inspection.findings
        if len(findings) > 1:
            findings.sort(key=_finding_key)
        risk = risk_tier((f.rule_id, f.subject) for f in findings)
        return Evaluation(findings, inspection.uncovered or frozenset(), risk)

    def describe(self, rule_id: str) -> tuple[str, str]:
        """A rule's (Chinese, English) description with parameter values in force filled in."""
        rule = self._rules[rule_id]
        return (self._fill(rule.description_zh, "zh"), self._fill(rule.description_en, "en"))

    def _fill(self, text: str, lang: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match[1]
            if name not in self.values:
                return "—"
            return display_value(name, self.values[name], lang)

        return _PLACEHOLDER.sub(value, text)

    def rules_in_force(self) -> list[dict[str, Any]]:
        """The catalogue as JSON-able rows for ``as_of``: metadata, filled descriptions, whether the rule
        applies, and each parameter in force (name, value, effective_from, level, citation)."""
        rows = []
        for rule in self.engine.rules:
            row = rule.to_dict()
            row["description_zh"], row["description_en"] = self.describe(rule.id)
            row["applies"] = rule in self.active
            start = self.starts(rule) if rule.automatic else None
            row["effective_from"] = start.isoformat() if start else None
            row["parameters"] = [dict(self._traces[p]) for p in rule.parameters if p in self._traces]
            rows.append(row)
        return rows

    def reserve_requirement(self, statement: Mapping[str, Any]) -> dict[str, Any]:
        """The supervised money a statement must show (预收费监管资金要求), and how it is computed.

        Required = ⌈liability × ``escrow.coverage_pct`` / 100⌉, and for a risk reserve at least
        ``escrow.reserve_min_fen``. Supervised money is the bank-reported balance for ``bank_custody`` and
        the reserve balance for ``risk_reserve``. Every amount is integer fen.
        """
        mode = statement["mode"]
        liability = int(statement["unearned_liability_fen"])
        pct = int(self.values.get("escrow.coverage_pct", 100))
        minimum = int(self.values.get("escrow.reserve_min_fen", 0)) if mode == "risk_reserve" else 0
        field = "bank_reported_balance_fen" if mode == "bank_custody" else "reserve_balance_fen"
        supervised = int(statement.get(field) or 0)
        by_coverage = -(-liability * pct // 100)
        required = max(by_coverage, minimum)
        used = [n for n in ("escrow.coverage_pct", "escrow.reserve_min_fen") if n in self._traces]
        if mode != "risk_reserve":
            used = used[:1]
        formula_en = (
            f"max(ceil({liability} × {pct} / 100), {minimum})"
            if minimum
            else (f"ceil({liability} × {pct} / 100)")
        )
        return {
            "mode": mode,
            "unearned_liability_fen": liability,
            "coverage_pct": pct,
            "reserve_min_fen": minimum,
            "required_fen": required,
            "supervised_field": field,
            "supervised_fen": supervised,
            "shortfall_fen": max(required - supervised, 0),
            "formula": f"{formula_en} = {required}",
            "parameters": [dict(self._traces[n]) for n in used],
        }


class Inspection:
    """One institution being evaluated (检查): its facts, and the findings and uncovered dates so far."""

    __slots__ = ("ctx", "doc", "findings", "statements", "uncovered")

    def __init__(
        self, ctx: Context, doc: Mapping[str, Any], statements: list[Mapping[str, Any]] | None
    ) -> None:
        self.ctx = ctx
        self.doc = doc
        self.statements = statements
        self.findings: list[Finding] = []
        self.uncovered: frozenset[dt.date] | None = None

    def report(
        self,
        rule_id: str,
        subject: str,
        message_zh: str,
        message_en: str,
        facts: dict[str, Any],
        comparison: str,
        parameters: Sequence[str] | None = None,
        on: dt.date | None = None,
    ) -> None:
        """Add a finding of ``rule_id`` about ``subject``; the trace lists the rule's parameters in force
        (or just ``parameters``) on ``as_of``, or on the day ``on`` when the check judged by that day's."""
        rule = self.ctx._rules[rule_id]
        traces = self.ctx._traces if on is None else self.ctx.values_on(on)[1]
        names = rule.parameters if parameters is None else parameters
        trace = {
            "facts": facts,
            "parameters": [dict(traces[n]) for n in names if n in traces],
            "comparison": comparison,
        }
        self.findings.append(
            Finding(
                rule.id, rule.version, rule.severity, subject, message_zh, message_en, rule.legal_basis, trace
            )
        )

    def not_covered(self, dates: frozenset[dt.date]) -> None:
        """Record dates the calendar data does not cover."""
        if not dates:
            return
        if self.uncovered is None:
            self.uncovered = dates
        elif dates is not self.uncovered and not dates <= self.uncovered:
            self.uncovered = self.uncovered | dates


def _finding_key(finding: Finding) -> tuple[str, str]:
    return (finding.rule_id, finding.subject)


def _statements(statements: Sequence[Mapping[str, Any]] | None, month: str) -> list[Mapping[str, Any]] | None:
    if statements is None:
        return None
    usable = [s for s in statements if s["period"] <= month]
    usable.sort(key=lambda s: (s["period"], str(s.get("id", ""))))
    return usable


__all__ = [
    "CALENDAR_WARNING_DAYS",
    "Context",
    "CoverageCheck",
    "Engine",
    "Inspection",
    "Jurisdiction",
    "Memo",
    "load_jurisdictions",
    "to_jsonable",
]
