"""``python -m scheduler``: the scheduler process (one leader runs the jobs; others wait to take over)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time

from scheduler.runner import SimulatedClock, exit_on_signals, run
from supervision.core.clock import Clock, from_settings


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scheduler", description=__doc__)
    p.add_argument("--poll", type=float, default=5.0, help="seconds between attempts to become the leader")
    sim = p.add_argument_group("simulated clock (tests and demonstrations)")
    sim.add_argument("--simulate-from", help="simulated start instant, ISO 8601 with offset")
    sim.add_argument("--simulate-until", help="stop when the simulated clock reaches this instant")
    sim.add_argument("--speed", type=float, default=3600.0, help="simulated seconds per real second")
    sim.add_argument("--epoch", type=float, help="real Unix time at which the simulated start is reached")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from supervision.core.logging import configure
    from supervision.db import database_url, get_engine
    from supervision.settings import get_settings

    args = parse(sys.argv[1:] if argv is None else argv)
    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    clock: Clock
    until = None
    if args.simulate_from:
        clock = SimulatedClock(
            start=dt.datetime.fromisoformat(args.simulate_from),
            epoch=args.epoch if args.epoch is not None else time.time(),
            speed=args.speed,
        )
    else:
        clock = from_settings(settings.today)
    if args.simulate_until:
        until = dt.datetime.fromisoformat(args.simulate_until)
    stop = threading.Event()
    exit_on_signals(stop)
    return run(
        get_engine(), clock, settings, stop=stop, until=until, poll_seconds=args.poll, url=database_url()
    )


if __name__ == "__main__":
    sys.exit(main())
