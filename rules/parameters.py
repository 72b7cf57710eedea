"""Rule parameters (规则参数): effective-dated values per jurisdiction level.

Each level of the jurisdiction chain (national ← province ← city ← district) may have one YAML file
``parameters/<code>.yaml``::

    level: "440100"
    parameters:
      time.offline_latest_end:
        - value: "20:30"
          effective_from: 2018-08-22
          effective_to: 2030-12-31      # optional, inclusive
          citation: 国办发〔2018〕80号
          note: free text                # optional

On a date, a parameter's value is the one in force at the most specific level that has a period covering the
date. Every name, field and type is checked when the files load; a problem is an error naming the file and
the key, never silently ignored.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rules.model import MODES, STAGES
from rules.yamlio import DataFileError, load_file

LEVEL_KINDS = ("national", "province", "city", "district")
_ALL_LEVELS = LEVEL_KINDS
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")

PriceTable = dict[str, tuple[tuple[int | None, int], ...]]
"""Guided base prices per mode: bands of (largest class size or None for "and more", base price in fen)."""


class _Bad(Exception):
    """A value that does not fit its parameter's type; the message says what is expected."""


@dataclass(frozen=True)
class ParameterSpec:
    """What a parameter is: its name, its kind of value, and at which kinds of level it may be set."""

    name: str
    kind: str
    description: str
    levels: tuple[str, ...] = _ALL_LEVELS


def _spec(name: str, kind: str, description: str, levels: tuple[str, ...] = _ALL_LEVELS) -> ParameterSpec:
    return ParameterSpec(name, kind, description, levels)


SPECS: dict[str, ParameterSpec] = {
    s.name: s
    for s in (
        _spec("ban.effective_from", "date", "date the ban on new approvals took effect", ("national",)),
        _spec(
            "ban.preschool_all_categories",
            "bool",
            "the preschool ban covers every category, not only subject",
        ),
        _spec(
            "npo.deadline",
            "date",
            "last day for subject institutions to register as non-profit",
            ("national",),
        ),
        _spec("restday.stages", "stages", "stages for which subject training is barred on rest days"),
        _spec("time.offline_latest_end", "time", "latest end of an offline lesson"),
        _spec("time.online_latest_end", "time", "latest end of an online lesson"),
        _spec("online.max_lesson_minutes", "positive_int", "longest online lesson, minutes"),
        _spec(
            "online.min_break_minutes", "non_negative_int", "shortest break between online lessons, minutes"
        ),
        _spec("prepay.max_lessons", "positive_int", "most lessons one prepaid charge may cover"),
        _spec("prepay.max_months", "positive_int", "most months one prepaid charge may cover"),
        _spec("prepay.max_fen", "money", "largest prepaid charge, fen"),
        _spec(
            "price.max_float_up_pct", "non_negative_int", "how far above the base price a fee may go, percent"
        ),
        _spec("price.standard_minutes", "minutes_by_mode", "standard lesson length per mode for pricing"),
        _spec(
            "price.base_fen",
            "price_table",
            "guided base price per mode and class-size band",
            ("province", "city"),
        ),
        _spec(
            "escrow.coverage_pct", "positive_int", "share of unearned prepaid money that must be supervised"
        ),
        _spec("escrow.reserve_min_fen", "money", "fixed minimum of a risk reserve, fen"),
        _spec("statement.due_day", "day_of_month", "day of the following month a statement is due by"),
        _spec("premises.min_m2_per_student", "decimal", "least floor area per concurrent student, m²"),
        _spec("licence.expiry_warning_days", "positive_int", "days before a licence expires to warn"),
        _spec(
            "statement.max_lookback_months",
            "positive_int",
            "most missing statement periods reported, counting back from the last one due",
        ),
        _spec(
            "risk.coverage_margin_pct",
            "non_negative_int",
            "percentage points above the required coverage below which supervised money is thin",
        ),
        _spec(
            "risk.surge_factor",
            "positive_int",
            "how many times the recent monthly average of receipts a month's receipts may reach",
        ),
        _spec(
            "risk.large_txn_pct",
            "positive_int",
            "largest release or refund line, percent of the statement's opening balance",
        ),
        _spec(
            "risk.complaints_30d",
            "positive_int",
            "complaints in the last 30 days that raise an institution's risk tier to yellow",
        ),
        _spec(
            "calendar.warning_days",
            "positive_int",
            "days ahead that calendar data must cover before staff are warned",
        ),
    )
}

_PERIOD_FIELDS = frozenset({"value", "effective_from", "effective_to", "citation", "note"})
_FILE_FIELDS = frozenset({"level", "parameters", "description"})


# --- value types ------------------------------------------------------------------------------------------


def _as_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise _Bad("expected a date YYYY-MM-DD, got a date with a time")
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise _Bad(f"expected a date YYYY-MM-DD, got {raw!r}")


def _as_int(raw: Any, lowest: int, highest: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _Bad(f"expected a whole number, got {raw!r}")
    if raw < lowest or (highest is not None and raw > highest):
        bound = f"from {lowest}" + (f" to {highest}" if highest is not None else " up")
        raise _Bad(f"expected a whole number {bound}, got {raw}")
    return raw


def _as_bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Bad(f"expected true or false, got {raw!r}")
    return raw


def _as_time(raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raise _Bad("expected a time in quotes like '20:30' (unquoted, YAML reads 20:30 as a number)")
    if not isinstance(raw, str) or not _TIME.fullmatch(raw):
        raise _Bad(f"expected a time 'HH:MM', got {raw!r}")
    return raw


def _as_decimal(raw: Any) -> Decimal:
    if isinstance(raw, float):
        raise _Bad(f"expected an exact decimal in quotes like '{raw}', got a binary float")
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _Bad(f"expected a decimal number, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _Bad(f"expected a decimal number, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise _Bad(f"expected a positive decimal number, got {raw!r}")
    return value


def _as_stages(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise _Bad(f"expected a non-empty list of stages {list(STAGES)}, got {raw!r}")
    for item in raw:
        if item not in STAGES:
            raise _Bad(f"unknown stage {item!r}; stages are {list(STAGES)}")
    if len(set(raw)) != len(raw):
        raise _Bad("a stage is listed twice")
    return tuple(s for s in STAGES if s in raw)


def _as_mode_mapping(raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise _Bad(f"expected a mapping of mode ({', '.join(MODES)}) to {what}, got {raw!r}")
    for mode in raw:
        if mode not in MODES:
            raise _Bad(f"unknown mode {mode!r}; modes are {list(MODES)}")
    return raw


def _as_minutes_by_mode(raw: Any) -> dict[str, int]:
    mapping = _as_mode_mapping(raw, "minutes")
    return {mode: _as_int(mapping[mode], 1) for mode in MODES if mode in mapping}


def _as_price_table(raw: Any) -> PriceTable:
    mapping = _as_mode_mapping(raw, "a list of class-size bands")
    table: PriceTable = {}
    for mode in MODES:
        if mode not in mapping:
            continue
        bands = mapping[mode]
        if not isinstance(bands, list) or not bands:
            raise _Bad(f"{mode}: expected a list of bands {{max_class_size, base_fen}}")
        out: list[tuple[int | None, int]] = []
        previous = 0
        for i, band in enumerate(bands):
            where = f"{mode} band {i + 1}"
            if not isinstance(band, dict):
                raise _Bad(f"{where}: expected {{max_class_size, base_fen}}, got {band!r}")
            unknown = set(band) - {"max_class_size", "base_fen"}
            if unknown:
                raise _Bad(f"{where}: unknown field {sorted(unknown)[0]!r}")
            if "max_class_size" not in band or "base_fen" not in band:
                raise _Bad(f"{where}: needs max_class_size (null for 'and more') and base_fen")
            size = band["max_class_size"]
            last = i == len(bands) - 1
            if size is None:
                if not last:
                    raise _Bad(f"{where}: only the last band may be open (max_class_size null)")
            else:
                try:
                    size = _as_int(size, previous + 1)
                except _Bad as exc:
                    raise _Bad(f"{where}: max_class_size must grow from band to band: {exc}") from None
                if last:
                    raise _Bad(
                        f"{where}: the last band must be open (max_class_size null) to cover every size"
                    )
                previous = size
            try:
                base = _as_int(band["base_fen"], 1)
            except _Bad as exc:
                raise _Bad(f"{where}: base_fen: {exc}") from None
            out.append((size, base))
        table[mode] = tuple(out)
    return table


_COERCE: dict[str, Callable[[Any], Any]] = {
    "date": _as_date,
    "bool": _as_bool,
    "time": _as_time,
    "positive_int": lambda raw: _as_int(raw, 1),
    "non_negative_int": lambda raw: _as_int(raw, 0),
    "money": lambda raw: _as_int(raw, 0),
    "day_of_month": lambda raw: _as_int(raw, 1, 31),
    "decimal": _as_decimal,
    "stages": _as_stages,
    "minutes_by_mode": _as_minutes_by_mode,
    "price_table": _as_price_table,
}


def to_jsonable(value: Any) -> Any:
    """A parameter value as JSON: dates as ISO strings, decimals as strings, price bands as mappings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, tuple) and item and isinstance(item[0], tuple):
                out[key] = [{"max_class_size": size, "base_fen": base} for size, base in item]
            else:
                out[key] = to_jsonable(item)
        return out
    return value


# --- files --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One value of a parameter with the dates it is in force (both inclusive; no end means open)."""

    value: Any
    effective_from: dt.date
    effective_to: dt.date | None
    citation: str
    note: str | None = None

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def canonical(self) -> dict[str, Any]:
        return {
            "value": to_jsonable(self.value),
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "citation": self.citation,
            "note": self.note,
        }


LevelParameters = dict[str, tuple[Period, ...]]


def parse_parameter_file(data: Any, name: str, level_kinds: Mapping[str, str]) -> tuple[str, LevelParameters]:
    """Check one parameter file's content; return its level code and its periods per parameter.

    ``level_kinds`` maps every known level code to its kind (national, province, city, district).
    Raises :class:`DataFileError` listing every problem, each prefixed with ``name`` and the key.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise DataFileError([f"{name}: expected a mapping with 'level' and 'parameters'"])
    for key in data:
        if key not in _FILE_FIELDS:
            hint = " (parameters go under 'parameters:')" if key in SPECS else ""
            problems.append(f"{name}: {key}: unknown top-level key{hint}; expected {sorted(_FILE_FIELDS)}")
    level = data.get("level")
    if not isinstance(level, str) or level not in level_kinds:
        problems.append(
            f"{name}: level: {level!r} is not a known jurisdiction code (quote codes like '440100')"
        )
        raise DataFileError(problems)
    kind = level_kinds[level]
    params = data.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        problems.append(f"{name}: parameters: expected a mapping of parameter name to periods")
        raise DataFileError(problems)
    out: LevelParameters = {}
    for key, periods in params.items():
        where = f"{name}: {key}"
        spec = SPECS.get(key) if isinstance(key, str) else None
        if spec is None:
            problems.append(f"{where}: unknown parameter name; known names are {sorted(SPECS)}")
            continue
        if kind not in spec.levels:
            problems.append(f"{where}: may not be set at {kind} level (only at {', '.join(spec.levels)})")
            continue
        if not isinstance(periods, list) or not periods:
            problems.append(
                f"{where}: expected a list of periods, each with value, effective_from and citation"
            )
            continue
        parsed: list[Period] = []
        for i, raw in enumerate(periods):
            at = f"{where}[{i}]"
            period = _parse_period(raw, spec, at, problems)
            if period is not None:
                parsed.append(period)
        if len(parsed) != len(periods):
            continue
        parsed.sort(key=lambda p: p.effective_from)
        for before, after in itertools.pairwise(parsed):
            if before.effective_to is None or after.effective_from <= before.effective_to:
                problems.append(
                    f"{where}: periods overlap: one from {before.effective_from} "
                    f"to {before.effective_to or 'open end'} and one from {after.effective_from}"
                )
        out[key] = tuple(parsed)
    if problems:
        raise DataFileError(problems)
    return level, out


def _parse_period(raw: Any, spec: ParameterSpec, at: str, problems: list[str]) -> Period | None:
    if not isinstance(raw, dict):
        problems.append(f"{at}: expected a mapping with value, effective_from and citation")
        return None
    ok = True
    for field_name in raw:
        if field_name not in _PERIOD_FIELDS:
            problems.append(f"{at}: {field_name}: unknown field; expected {sorted(_PERIOD_FIELDS)}")
            ok = False
    for required in ("value", "effective_from", "citation"):
        if required not in raw:
            problems.append(f"{at}: {required}: missing")
            ok = False
    if not ok:
        return None
    try:
        value = _COERCE[spec.kind](raw["value"])
    except _Bad as exc:
        problems.append(f"{at}: value: {exc}")
        ok = False
    try:
        start = _as_date(raw["effective_from"])
    except _Bad as exc:
        problems.append(f"{at}: effective_from: {exc}")
        ok = False
    end: dt.date | None = None
    if raw.get("effective_to") is not None:
        try:
            end = _as_date(raw["effective_to"])
        except _Bad as exc:
            problems.append(f"{at}: effective_to: {exc}")
            ok = False
    citation = raw["citation"]
    if not isinstance(citation, str) or not citation.strip():
        problems.append(f"{at}: citation: expected the text of the legal basis")
        ok = False
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        problems.append(f"{at}: note: expected text")
        ok = False
    if not ok:
        return None
    if end is not None and end < start:
        problems.append(f"{at}: effective_to {end} is before effective_from {start}")
        return None
    return Period(value, start, end, citation.strip(), note)


# --- the chain ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A parameter's value on a date, with where it came from (level and citation)."""

    name: str
    value: Any
    effective_from: dt.date
    effective_to: dt.date | None
    level: str
    citation: str

    def trace(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": to_jsonable(self.value),
            "effective_from": self.effective_from.isoformat(),
            "level": self.level,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class ParameterChain:
    """The parameter files of a jurisdiction chain, national first, after any candidate overlays."""

    levels: tuple[tuple[str, LevelParameters], ...]

    @functools.cached_property
    def boundaries(self) -> tuple[dt.date, ...]:
        """Every date on which some parameter's value may change (a period's start, or the day after its
        end), sorted. Between two boundaries every parameter resolves the same."""
        days: set[dt.date] = set()
        for _, params in self.levels:
            for periods in params.values():
                for p in periods:
                    days.add(p.effective_from)
                    if p.effective_to is not None and p.effective_to < dt.date.max:
                        days.add(p.effective_to + dt.timedelta(days=1))
        return tuple(sorted(days))

    def segment(self, day: dt.date) -> dt.date | None:
        """The last boundary on or before ``day`` (None before the first): ``resolve`` gives the same
        answer for every day of a segment, so a cache of resolutions may be keyed by it."""
        i = bisect.bisect_right(self.boundaries, day)
        return self.boundaries[i - 1] if i else None

    def resolve(self, day: dt.date) -> dict[str, Resolved]:
        """Every parameter in force on ``day``: the most specific level with a period covering it wins."""
        out: dict[str, Resolved] = {}
        for name in SPECS:
            for level, params in reversed(self.levels):
                period = next((p for p in params.get(name, ()) if p.covers(day)), None)
                if period is not None:
                    out[name] = Resolved(
                        name, period.value, period.effective_from, period.effective_to, level, period.citation
                    )
                    break
        return out

    def canonical(self) -> list[Any]:
        return [
            {
                "level": level,
                "parameters": {k: [p.canonical() for p in ps] for k, ps in sorted(params.items())},
            }
            for level, params in self.levels
        ]


def load_chain(
    directory: Path,
    chain: Sequence[str],
    level_kinds: Mapping[str, str],
    overlays: Sequence[tuple[str, Any]] = (),
) -> ParameterChain:
    """Load ``<directory>/<code>.yaml`` for each level of ``chain`` (a missing file means nothing is set).

    Each overlay is ``(name, parsed YAML)`` naming its level; for every parameter it names, its periods
    replace that level's periods; the level's other parameters stay. Problems in all files are reported
    together.
    """
    problems: list[str] = []
    levels: dict[str, LevelParameters] = {}
    for code in chain:
        path = directory / f"{code}.yaml"
        levels[code] = {}
        if not path.exists():
            continue
        try:
            level, params = parse_parameter_file(load_file(path), str(path), level_kinds)
        except DataFileError as exc:
            problems.extend(exc.problems)
            continue
        if level != code:
            problems.append(f"{path}: level: says {level!r} but the file is for {code!r}")
            continue
        levels[code] = params
    for name, data in overlays:
        try:
            level, params = parse_parameter_file(data, name, level_kinds)
        except DataFileError as exc:
            problems.extend(exc.problems)
            continue
        if level not in levels:
            problems.append(f"{name}: level: {level!r} is not in the chain {list(chain)}")
            continue
        levels[level] = {**levels[level], **params}
    if problems:
        raise DataFileError(problems)
    return ParameterChain(tuple((code, levels[code]) for code in chain))


def canonical_hash(content: Any) -> str:
    """SHA-256 of content serialised canonically (keys sorted, no spaces, UTF-8 as-is)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
