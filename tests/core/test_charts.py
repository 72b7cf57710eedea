"""The server-drawn SVG charts: well-formed, accessible, escaped, deterministic, and honest about zeros,
gaps and empty input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from supervision.core import charts

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img"
    ids = (root.get("aria-labelledby") or "").split()
    title, desc = root.find("s:title", NS), root.find("s:desc", NS)
    assert title is not None and desc is not None
    assert ids == [title.get("id"), desc.get("id")]
    assert root.find("s:script", NS) is None and "href" not in svg
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_bar_chart_labels_values_and_zero() -> None:
    svg = charts.bar_chart(
        [("学科类", 609), ("非学科类", 1372), ("无证", 0)], title="机构类别", width=480, height=140
    )
    root = parse(svg)
    assert root.get("width") == "480" and root.get("height") == "140"
    shown = texts(root)
    for s in ("机构类别", "学科类", "609", "非学科类", "1,372", "无证", "0"):
        assert s in shown
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("s:title", NS) is not None]
    assert [float(r.get("width") or "nan") for r in bars][2] == 0
    assert float(bars[1].get("width") or 0) > float(bars[0].get("width") or 0) > 0
    desc = root.find("s:desc", NS)
    assert desc is not None and desc.text == "学科类: 609; 非学科类: 1,372; 无证: 0"


def test_all_zero_and_empty() -> None:
    root = parse(charts.bar_chart([("a", 0), ("b", 0)], title="t"))
    assert "0" in texts(root)
    for svg in (
        charts.bar_chart([], title="空"),
        charts.stacked_bar([], title="空"),
        charts.line_chart([], title="空"),
        charts.stacked_bar([("red", 0), ("yellow", 0)], title="风险", colours=charts.TIER_COLOURS),
    ):
        assert "无数据" in texts(parse(svg))


def test_labels_are_escaped() -> None:
    nasty = "A<b>&\"c'</b>\x07"
    for svg in (
        charts.bar_chart([(nasty, 1)], title=nasty),
        charts.stacked_bar([(nasty, 1)], title=nasty),
        charts.line_chart([(nasty, 1), ("b", 2)], title=nasty),
    ):
        root = parse(svg)
        assert "<b>" not in svg and "&amp;" in svg
        title = root.find("s:title", NS)
        assert title is not None and title.text == "A<b>&\"c'</b>"
        assert "A<b>&\"c'</b>" in texts(root)


def test_stacked_bar_legend_and_colours() -> None:
    items = [("critical", 3), ("major", 10), ("minor", 0), ("notice", 1)]
    root = parse(charts.stacked_bar(items, title="问题", colours=charts.SEVERITY_COLOURS))
    assert [t for t in texts(root) if ":" in t] == ["critical: 3", "major: 10", "minor: 0", "notice: 1"]
    parts = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("s:title", NS) is not None]
    assert [r.get("fill") for r in parts] == ["#a4161a", "#9c4a00", "#3a5a8c"]  # zero takes no room


def test_line_chart_gaps_and_marks() -> None:
    points: list[tuple[str, int | None]] = [("2025-01", None), ("2025-02", None)]
    points += [(f"2025-{m:02d}", 600 - m * 5) for m in range(3, 13)]
    root = parse(charts.line_chart(points, title="学科类机构数"))
    desc = root.find("s:desc", NS)
    assert desc is not None and desc.text is not None
    assert desc.text.startswith("2025-01: 无记录; 2025-02: 无记录; 2025-03: 585")
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 10
    shown = texts(root)
    assert "585" in shown and "540" in shown  # first (highest) and last (lowest)
    assert "2025-01" in shown and "2025-12" in shown
    only_gaps = parse(charts.line_chart([("2025-01", None)], title="t"))
    assert "无记录" in texts(only_gaps)
    flat = parse(charts.line_chart([("a", 0), ("b", 0)], title="t"))
    assert "0" in texts(flat)


def test_deterministic_and_distinct_ids() -> None:
    a = charts.bar_chart([("a", 1)], title="t")
    assert a == charts.bar_chart([("a", 1)], title="t")
    assert parse(a).get("aria-labelledby") != parse(charts.bar_chart([("a", 2)], title="t")).get(
        "aria-labelledby"
    )


COLOURS = [charts.TEXT, charts.MUTED, charts.BAR, *charts.SEVERITY_COLOURS.values()]
COLOURS += [*charts.TIER_COLOURS.values(), *charts.PALETTE]


@pytest.mark.parametrize("colour", COLOURS)
def test_colours_have_aa_contrast_on_white(colour: str) -> None:
    assert charts.contrast(colour) >= 4.5
    assert charts.contrast(charts.GRIDLINE) >= 3


def test_contrast_reference_values() -> None:
    assert charts.contrast("#000000") == pytest.approx(21)
    assert charts.contrast("#ffffff") == pytest.approx(1)
    assert charts.contrast("#767676") == pytest.approx(4.54, abs=0.01)
