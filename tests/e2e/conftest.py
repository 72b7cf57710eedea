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
