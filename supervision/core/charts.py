"""Charts drawn on the server as SVG (图表): horizontal bars, one stacked bar, a line over months.

Pure functions of their input: the same figures give the same bytes (element ids are derived from the
content), no scripts, no external files, no fonts to fetch. Every chart is an accessible image: ``role="img"``
labelled by its ``<title>`` and described by a ``<desc>`` that lists every figure in words, and every figure
is also drawn as text beside its mark, so nothing is told by colour alone. All text is drawn on the white
background in ``TEXT`` (contrast 16:1) and every colour of the palettes has a contrast of at least 4.5:1
against white (WCAG 2.1 AA asks 4.5:1 for text and 3:1 for graphics). Labels are escaped: ``<``, ``&``, ``>``
and quotes in a name are text, never markup.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from xml.sax.saxutils import escape

Number = int | float

TEXT = "#1b1b1b"
"""Text and axis colour."""
MUTED = "#595959"
"""Secondary text (axis ticks, "no data"): 7:1 on white."""
GRIDLINE = "#767676"
BACKGROUND = "#ffffff"
BAR = "#1f5f99"
"""The default bar colour (6.6:1 on white)."""
SEVERITY_COLOURS = {"critical": "#a4161a", "major": "#9c4a00", "minor": "#6b5900", "notice": "#3a5a8c"}
TIER_COLOURS = {"red": "#b3261e", "yellow": "#7a5b00", "green": "#1e6b34"}
PALETTE = ("#1f5f99", "#9c4a00", "#1e6b34", "#7b3294", "#a4161a", "#3a5a8c", "#6b5900", "#00616b")
"""Colours taken in turn when a mark has none of its own."""

FONT = "font-family=\"system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\""
FONT_SIZE = 13
ROW = 26
PAD = 8
TITLE_HEIGHT = 28


def bar_chart(
    items: Sequence[tuple[str, Number]],
    *,
    title: str,
    width: int = 480,
    height: int | None = None,
    colours: Mapping[str, str] | None = None,
    fmt: Callable[[Number], str] | None = None,
    empty_text: str = "无数据",
) -> str:
    """Horizontal bars, one per ``(label, value)`` in the given order, the label on the left and the value
    after the bar. ``colours`` picks a colour by label (else ``BAR``); ``height`` defaults to what the rows
    need."""
    show = fmt or _format
    n = len(items)
    height = height or TITLE_HEIGHT + max(n, 1) * ROW + PAD * 2
    body: list[str] = []
    desc = "; ".join(f"{label}: {show(value)}" for label, value in items) or empty_text
    if not items:
        body.append(_text(width / 2, TITLE_HEIGHT + ROW, empty_text, anchor="middle", fill=MUTED))
    else:
        label_w = min(max(_text_width(label) for label, _ in items) + PAD, width * 0.4)
        value_w = max(_text_width(show(v)) for _, v in items) + PAD
        span = max(width - label_w - value_w - PAD * 2, 1.0)
        top = max(max(0.0, float(v)) for _, v in items)
        row = (height - TITLE_HEIGHT - PAD * 2) / n
        for i, (label, value) in enumerate(items):
            y = TITLE_HEIGHT + PAD + i * row
            bar = span * max(0.0, float(value)) / top if top > 0 else 0.0
            colour = (colours or {}).get(label, BAR)
            mid = y + row / 2
            body.append(_text(label_w - PAD / 2 + PAD, mid, label, anchor="end"))
            body.append(
                f'<rect x="{_n(label_w + PAD)}" y="{_n(y + row * 0.15)}" width="{_n(bar)}"'
                f' height="{_n(row * 0.7)}" fill="{colour}"><title>{_esc(label)}: {_esc(show(value))}'
                "</title></rect>"
            )
            body.append(_text(label_w + PAD + bar + PAD / 2, mid, show(value)))
    return _svg(title, desc, width, height, body, items)


def stacked_bar(
    items: Sequence[tuple[str, Number]],
    *,
    title: str,
    width: int = 480,
    colours: Mapping[str, str] | None = None,
    fmt: Callable[[Number], str] | None = None,
    empty_text: str = "无数据",
) -> str:
    """One horizontal bar split into ``items`` (risk tiers, severities …) in order, with a legend that gives
    each part's colour, label and value; zero parts take no room in the bar but keep their legend line."""
    show = fmt or _format
    total = sum(max(0.0, float(v)) for _, v in items)
    height = TITLE_HEIGHT + PAD * 3 + ROW + max(len(items), 1) * ROW
    desc = "; ".join(f"{label}: {show(value)}" for label, value in items) or empty_text
    body: list[str] = []
    left, span = PAD, width - PAD * 2
    y = TITLE_HEIGHT + PAD
    colour_of = _colours(items, colours)
    if total <= 0:
        body.append(
            f'<rect x="{left}" y="{y}" width="{span}" height="{ROW}" fill="none" stroke="{GRIDLINE}"/>'
        )
        body.append(_text(width / 2, y + ROW / 2, empty_text, anchor="middle", fill=MUTED))
    else:
        x = float(left)
        for label, value in items:
            part = span * max(0.0, float(value)) / total
            if part > 0:
                body.append(
                    f'<rect x="{_n(x)}" y="{y}" width="{_n(part)}" height="{ROW}" fill="{colour_of[label]}"'
                    f' stroke="{BACKGROUND}"><title>{_esc(label)}: {_esc(show(value))}</title></rect>'
                )
            x += part
    for i, (label, value) in enumerate(items):
        ly = TITLE_HEIGHT + PAD * 2 + ROW + i * ROW
        body.append(f'<rect x="{left}" y="{_n(ly + 6)}" width="14" height="14" fill="{colour_of[label]}"/>')
        body.append(_text(left + 22, ly + 13, f"{label}: {show(value)}"))
    return _svg(title, desc, width, height, body, items)


def line_chart(
    points: Sequence[tuple[str, Number | None]],
    *,
    title: str,
    width: int = 560,
    height: int = 240,
    colour: str = BAR,
    fmt: Callable[[Number], str] | None = None,
    empty_text: str = "无数据",
    missing_text: str = "无记录",
) -> str:
    """A line through ``(label, value)`` points in order (months, oldest first). A ``None`` value is a gap
    (no record for that point): the line breaks there and the description says so. The first and last
    values and the highest and lowest are written beside their points; every point carries its value in a
    tooltip and in the description. Labels under the axis are thinned to fit."""
    show = fmt or _format
    desc = (
        "; ".join(f"{label}: {missing_text if v is None else show(v)}" for label, v in points) or empty_text
    )
    known = [(i, float(v)) for i, (_, v) in enumerate(points) if v is not None]
    body: list[str] = []
    if not known:
        body.append(_text(width / 2, height / 2, empty_text if not points else missing_text, anchor="middle"))
        return _svg(title, desc, width, height, body, points)
    left = max(_text_width(show(max(v for _, v in known))), 24) + PAD * 2
    widest = max(_text_width(label) for label, _ in points) + PAD
    right, top, bottom = max(PAD * 3, widest / 2), TITLE_HEIGHT + PAD * 2, height - ROW - PAD
    low, high = min(0.0, *(v for _, v in known)), max(v for _, v in known)
    high = high if high > low else low + 1
    step = (width - left - right) / max(len(points) - 1, 1)

    def at(i: int, v: float) -> tuple[float, float]:
        return left + i * step, bottom - (bottom - top) * (v - low) / (high - low)

    body.append(
        f'<line x1="{_n(left)}" y1="{bottom}" x2="{_n(width - right)}" y2="{bottom}" stroke="{TEXT}"/>'
    )
    body.append(f'<line x1="{_n(left)}" y1="{top}" x2="{_n(left)}" y2="{bottom}" stroke="{TEXT}"/>')
    for bound in (low, high):
        tick = show(_int_if_whole(bound))
        body.append(_text(left - PAD / 2, at(0, bound)[1], tick, anchor="end", fill=MUTED))
    # Every ``every``-th label under the axis, the last one always, each as wide as the widest.
    last = len(points) - 1
    every = max(1, math.ceil(widest / step)) if step > 0 else 1
    shown = {i for i in range(0, last + 1, every) if last - i >= every or i == last}
    shown.add(last)
    for i, (label, _) in enumerate(points):
        if i in shown:
            body.append(_text(left + i * step, bottom + ROW / 2 + 2, label, anchor="middle", fill=MUTED))
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = at(i, float(value))
        segment.append(f"{_n(x)},{_n(y)}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            body.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    values = [v for _, v in known]
    marked = {
        known[0][0],
        known[-1][0],
        known[values.index(max(values))][0],
        known[values.index(min(values))][0],
    }
    for i, (label, point) in enumerate(points):
        if point is None:
            continue
        x, y = at(i, float(point))
        body.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{colour}">'
            f"<title>{_esc(label)}: {_esc(show(point))}</title></circle>"
        )
        if i in marked:
            body.append(_text(x, y - PAD, show(point), anchor="middle"))
    return _svg(title, desc, width, height, body, points)


def contrast(foreground: str, background: str = BACKGROUND) -> float:
    """The WCAG 2.1 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    a, b = _luminance(foreground), _luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


# ------------------------------------------------------------------------------------------ pieces


def _svg(
    title: str, desc: str, width: int, height: int, body: list[str], data: Sequence[tuple[str, object]]
) -> str:
    key = hashlib.sha256(repr((title, width, height, list(data))).encode()).hexdigest()[:10]
    tid, did = f"chart-{key}-title", f"chart-{key}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{tid} {did}"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="{FONT_SIZE}">'
        f'<title id="{tid}">{_esc(title)}</title><desc id="{did}">{_esc(desc)}</desc>'
        f'<rect width="{width}" height="{height}" fill="{BACKGROUND}"/>'
        + _text(PAD, TITLE_HEIGHT / 2 + 2, title, weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _text(
    x: float, y: float, s: str, *, anchor: str = "start", fill: str = TEXT, weight: str | None = None
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" dominant-baseline="middle"'
        f' fill="{fill}"{bold}>{_esc(s)}</text>'
    )


def _esc(s: str) -> str:
    # Characters XML 1.0 cannot carry at all (control characters) are dropped rather than written.
    clean = "".join(c for c in s if c in "\t\n" or unicodedata.category(c) != "Cc")
    return escape(clean, {'"': "&quot;", "'": "&apos;"})


def _text_width(s: str) -> float:
    """A generous estimate of a label's width: wide (CJK) characters a full em, others 0.62 em."""
    return sum(FONT_SIZE if unicodedata.east_asian_width(c) in "WF" else FONT_SIZE * 0.62 for c in s)


def _format(v: Number) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.1f}"


def _int_if_whole(v: float) -> Number:
    return int(v) if float(v).is_integer() else v


def _n(v: float) -> str:
    """A coordinate with at most two decimals, the same bytes for the same value."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _colours(items: Sequence[tuple[str, Number]], colours: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (label, _) in enumerate(items):
        out[label] = (colours or {}).get(label) or PALETTE[i % len(PALETTE)]
    return out


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
