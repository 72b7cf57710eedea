"""The server entry point leaves the long-lived objects of the application out of the collector's scans."""

from __future__ import annotations

import os
import subprocess
import sys

from supervision.settings import ROOT

PROBE = """
import gc
before = gc.get_freeze_count()
from supervision.main import app_factory
app = app_factory()
print(before, gc.get_freeze_count(), len(gc.get_objects(2)))
"""


def test_app_factory_freezes_what_the_application_built(database_url: str) -> None:
    env = {**os.environ, "SUPERVISION_DATABASE_URL": database_url, "SUPERVISION_LOG_LEVEL": "WARNING"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    before, frozen, left = map(int, out.split())
    assert before == 0
    # Everything imported and built is frozen (tens of thousands of objects); the oldest generation is
    # left with (next to) nothing to scan.
    assert frozen > 50_000
    assert left < 1_000
