"""The browser for the browser tests: the system Chromium, never a downloaded one.

Found as ``SUPERVISION_CHROMIUM`` when that is set, else ``/usr/bin/chromium``, else ``chromium`` or
``chromium-browser`` on the PATH. Without one the browser tests are skipped with one line that says how to
run them; with ``CI=true`` a missing Chromium fails them instead (CI installs Debian's package).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
HOW = (
    "install Debian's chromium (apt-get install chromium) or set SUPERVISION_CHROMIUM=/path/to/chromium"
    " to run them"
)


def find_chromium() -> str | None:
    """The system Chromium's executable, or None."""
    configured = os.environ.get("SUPERVISION_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    if SYSTEM_CHROMIUM.is_file():
        return str(SYSTEM_CHROMIUM)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def required() -> bool:
    """On CI the browser tests must run: a missing Chromium is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing() -> str:
    configured = os.environ.get("SUPERVISION_CHROMIUM")
    return f"SUPERVISION_CHROMIUM={configured} is not a file" if configured else "no system Chromium found"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if find_chromium() or required():
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {missing()}; {HOW}")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.fail(f"browser tests are required with CI=true: {missing()}; {HOW}")
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_HOW = "run `npm ci --prefix tests/e2e` (the npm package axe-core, pinned in tests/e2e/package-lock.json)"


@pytest.fixture(scope="session")
def axe_source() -> str | None:
    """axe-core's script, to inject into pages; None (checks skipped, said once) when it is not installed,
    except with CI=true, where it is required."""
    if AXE.is_file():
        return AXE.read_text(encoding="utf-8")
    if required():
        pytest.fail(f"axe-core is required with CI=true: {AXE_HOW}")
    return None


@pytest.fixture
def check_a11y(axe_source: str | None) -> Any:
    """``check_a11y(page)``: every WCAG 2.0/2.1 A and AA rule of axe-core on the page as it is now; fails
    listing each violation with the elements it found."""

    def check(page: Any, what: str = "") -> None:
        if axe_source is None:
            return
        # Evaluated by the browser's debugging protocol, not added as a <script>: the pages' Content-Security-
        # Policy (script-src 'self') rightly refuses inline scripts.
        page.evaluate(axe_source)
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
            for v in result["violations"]
        ]
        assert problems == [], f"{what or page.url}: " + " | ".join(problems)

    return check
