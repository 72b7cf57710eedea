"""``python -m bench``: the benchmarks.

    python -m bench                  list them
    python -m bench all              run each at the sizes bench/RESULTS.md records (long)
    python -m bench all --quick      run each at small sizes: a check that they work, not figures
    python -m bench NAME [ARGS...]   run one (the same as python -m bench.NAME ARGS...)

Each runs in its own process, on a scratch database of its own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import NamedTuple


class Benchmark(NamedTuple):
    what: str
    quick: list[str]
    needs: str | None = None


BENCHMARKS = {
    "import_registry": Benchmark("registry import against a raw COPY", ["--count", "2000"]),
    "rule_run": Benchmark("a full rule run against reading the same rows", ["--count", "2000"]),
    "escrow_statement": Benchmark(
        "one CSV escrow statement end to end against a raw COPY", ["--lines", "2000", "--runs", "1"]
    ),
    "publish_edition": Benchmark(
        "publishing the lists against naive hashing", ["--white", "5000", "--listed", "200"]
    ),
    "public_load": Benchmark(
        "the public site under load (wrk)",
        ["--count", "2000", "--duration", "3", "--warmup", "1"],
        needs="wrk",
    ),
}


def run(name: str, args: list[str]) -> int:
    print(f"\n== bench.{name} {' '.join(args)}".rstrip(), flush=True)
    return subprocess.run([sys.executable, "-m", f"bench.{name}", *args]).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(__doc__)
        for name, b in BENCHMARKS.items():
            print(f"  {name:18} {b.what}" + (f" (needs {b.needs})" if b.needs else ""))
        return 0
    if argv[0] != "all":
        if argv[0] not in BENCHMARKS:
            print(f"no benchmark {argv[0]!r}; python -m bench lists them", file=sys.stderr)
            return 2
        return run(argv[0], argv[1:])
    quick = "--quick" in argv[1:]
    failed, skipped = [], []
    for name, b in BENCHMARKS.items():
        if b.needs and shutil.which(b.needs) is None:
            print(f"\n== bench.{name}: skipped, needs {b.needs} (Debian: apt-get install {b.needs})")
            skipped.append(name)
            continue
        if run(name, b.quick if quick else []) != 0:
            failed.append(name)
    print(f"\n{len(BENCHMARKS) - len(failed) - len(skipped)} benchmarks ran", end="")
    print(f"; skipped: {', '.join(skipped)}" if skipped else "", end="")
    print(f"; failed: {', '.join(failed)}" if failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
