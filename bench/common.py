"""Shared pieces for benchmarks: a throw-away database, cached data files, peak memory, timing."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from supervision import db
from supervision.db import embedded_url, sqlalchemy_url
from supervision.settings import ROOT

DATA = ROOT / "bench" / "data"


def server_url() -> str:
    url = os.environ.get("SUPERVISION_BENCH_DATABASE_URL") or os.environ.get("SUPERVISION_TEST_DATABASE_URL")
    return sqlalchemy_url(url) if url else embedded_url(ROOT / "var" / "bench")


def scratch_database(name: str) -> AbstractContextManager[str]:
    """A freshly migrated database for one benchmark, dropped afterwards."""
    return db.scratch_database(server_url(), name)


def registry_file(count: int, seed: int = 2026) -> Path:
    """The demo registry of ``count`` institutions as JSON lines, generated once and cached."""
    from supervision.demo import registry as demo

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"registry-{count}-{seed}.jsonl"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        demo.write_jsonl(tmp, count, seed)
        tmp.rename(path)
    return path


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(results: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[key] = time.perf_counter() - start
