"""Without a system Chromium the browser tests are skipped with one line that says how to run them; with
CI=true they fail instead. (These run without a browser.)"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from supervision.settings import ROOT
from tests.e2e import conftest as browser_setup


def run_browser_tests(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "CI"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/e2e/test_parent_journey.py"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_chromium_the_browser_tests_are_skipped_with_one_line() -> None:
    done = run_browser_tests(SUPERVISION_CHROMIUM="/nonexistent/chromium")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [ln for ln in done.stdout.splitlines() if "browser tests skipped" in ln]
    assert len(lines) == 1, done.stdout
    assert "apt-get install chromium" in lines[0] and "SUPERVISION_CHROMIUM=" in lines[0]
    assert " skipped" in done.stdout.splitlines()[-1]


def test_on_ci_a_missing_chromium_fails() -> None:
    done = run_browser_tests(SUPERVISION_CHROMIUM="/nonexistent/chromium", CI="true")
    assert done.returncode != 0
    assert "browser tests are required with CI=true" in done.stdout


def test_the_system_chromium_is_found_where_debian_and_the_path_put_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SUPERVISION_CHROMIUM", raising=False)
    monkeypatch.setattr(browser_setup, "SYSTEM_CHROMIUM", tmp_path / "usr-bin-chromium")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    assert browser_setup.find_chromium() is None

    for name in ("chromium-browser", "chromium"):
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
        assert browser_setup.find_chromium() == str(exe)

    (tmp_path / "usr-bin-chromium").write_text("")
    assert browser_setup.find_chromium() == str(tmp_path / "usr-bin-chromium")

    monkeypatch.setenv("SUPERVISION_CHROMIUM", str(bin_dir / "chromium-browser"))
    assert browser_setup.find_chromium() == str(bin_dir / "chromium-browser")
    monkeypatch.setenv("SUPERVISION_CHROMIUM", str(tmp_path / "nowhere"))
    assert browser_setup.find_chromium() is None
