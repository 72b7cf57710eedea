"""The scheduler process: wait for leadership, then run the job table on APScheduler 3.x.

- Only the leader (the holder of the advisory lock, see :mod:`scheduler.leader`) starts APScheduler. A
  follower polls for the lock and takes over when the leader's connection goes away.
- Jobs are cron-triggered in Asia/Shanghai with ``coalesce`` and a misfire grace time of hours, and one
  instance at a time. On taking over, the most recent scheduled run of each job within the grace time that is
  not recorded as done is caught up, once.
- Each job gets its scheduled fire time (``fire_time``) from the executor below; nothing reads the wall clock.
- For tests and demonstrations the process can run on a simulated clock (a start instant, a speed and a
  shared epoch), so several processes agree on the simulated time and a week passes in seconds.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from functools import partial
from threading import TIMEOUT_MAX
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from scheduler.jobs import JobContext, JobSpec, job_table, run_claimed
from scheduler.leader import LeaderLock
from supervision.core import jobs as job_runs
from supervision.core.clock import SHANGHAI, Clock
from supervision.db import session_scope
from supervision.settings import Settings

log = logging.getLogger("scheduler")


@dataclass(frozen=True)
class SimulatedClock:
    """Simulated time: ``start`` at the real instant ``epoch`` (Unix seconds), ``speed`` times faster."""

    start: dt.datetime
    epoch: float
    speed: float

    def now(self) -> dt.datetime:
        return (self.start + dt.timedelta(seconds=(time.time() - self.epoch) * self.speed)).astimezone(dt.UTC)

    def today(self) -> dt.date:
        return self.now().astimezone(SHANGHAI).date()

    def real_seconds(self, simulated: float) -> float:
        return simulated / self.speed


def real_seconds(clock: Clock, simulated: float) -> float:
    scale = getattr(clock, "real_seconds", None)
    return float(scale(simulated)) if scale else simulated


class FireTimeExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs jobs in a thread pool and passes each run its scheduled time as ``fire_time``.

    A run later than the job's misfire grace time (by the injected clock) is reported missed instead, as
    APScheduler's own executors do.
    """

    def __init__(self, clock: Clock, max_workers: int = 4) -> None:
        super().__init__()
        self._clock = clock
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="job")

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        def call() -> list[JobExecutionEvent]:
            events = []
            for run_time in run_times:
                late = self._clock.now() - run_time
                if job.misfire_grace_time is not None and late > dt.timedelta(seconds=job.misfire_grace_time):
                    log.warning("job %s scheduled at %s missed by %s", job.id, run_time, late)
                    events.append(JobExecutionEvent(EVENT_JOB_MISSED, job.id, job._jobstore_alias, run_time))
                    continue
                try:
                    retval = job.func(*job.args, **{**job.kwargs, "fire_time": run_time})
                except BaseException as exc:
                    log.exception("job %s scheduled at %s failed", job.id, run_time)
                    events.append(
                        JobExecutionEvent(
                            EVENT_JOB_ERROR,
                            job.id,
                            job._jobstore_alias,
                            run_time,
                            exception=exc,
                            traceback="".join(traceback.format_tb(exc.__traceback__)),
                        )
                    )
                else:
                    events.append(
                        JobExecutionEvent(
                            EVENT_JOB_EXECUTED, job.id, job._jobstore_alias, run_time, retval=retval
                        )
                    )
            return events

        def done(f: concurrent.futures.Future[list[JobExecutionEvent]]) -> None:
            exc = f.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        self._pool.submit(call).add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler's background scheduler, sleeping in real seconds when the clock is simulated."""

    def __init__(self, clock: Clock, **options: Any) -> None:
        self._clock = clock
        super().__init__(**options)

    def _main_loop(self) -> None:
        wait_seconds: float | None = TIMEOUT_MAX
        while self.state != STATE_STOPPED:
            real = real_seconds(self._clock, wait_seconds) if wait_seconds is not None else None
            if real is not None and hasattr(self._clock, "real_seconds"):
                real = min(real, 0.05)
            self._event.wait(real)
            self._event.clear()
            wait_seconds = self._process_jobs()


def _use_clock(clock: Clock) -> None:
    """APScheduler 3 reads ``datetime.now()`` in its scheduler module; under a simulated clock that name is
    replaced there, so triggers are evaluated on simulated time."""
    import apscheduler.schedulers.base as base

    class _ClockDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return clock.now().astimezone(tz)

    base.datetime = _ClockDatetime


def trigger(spec: JobSpec) -> CronTrigger:
    return CronTrigger.from_crontab(spec.cron, timezone=SHANGHAI)


def last_fire(spec: JobSpec, now: dt.datetime, grace: dt.timedelta) -> dt.datetime | None:
    """The most recent scheduled time of ``spec`` at or before ``now`` and within ``grace`` of it."""
    trig = trigger(spec)
    t = trig.get_next_fire_time(None, now - grace)
    last = None
    while t is not None and t <= now:
        last = t
        t = trig.get_next_fire_time(t, t + dt.timedelta(seconds=1))
    return last


def build(engine: Engine, clock: Clock, settings: Settings) -> _Scheduler:
    """A scheduler holding the job table, with missed runs (within the grace time, not done) caught up."""
    grace = dt.timedelta(hours=settings.scheduler_grace_hours)
    sched = _Scheduler(
        clock,
        timezone=SHANGHAI,
        executors={"default": FireTimeExecutor(clock)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(grace.total_seconds()),
        },
    )
    ctx = JobContext(engine=engine, clock=clock, settings=settings)
    now = clock.now()
    for spec in job_table(settings, clock.today()):
        missed = last_fire(spec, now, grace)
        catch_up = False
        if missed is not None:
            with session_scope(engine) as session:
                catch_up = not job_runs.is_done(session, spec.id, missed)
        options: dict[str, Any] = {}
        if catch_up and missed is not None:
            options["next_run_time"] = missed
            log.info("catching up %s scheduled at %s", spec.id, missed.isoformat())
        sched.add_job(
            partial(run_claimed, ctx, spec),
            trigger(spec),
            kwargs={"fire_time": None},  # replaced by the scheduled time on every run
            id=spec.id,
            name=spec.description,
            **options,
        )
    return sched


def run(
    engine: Engine,
    clock: Clock,
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    until: dt.datetime | None = None,
    poll_seconds: float = 5.0,
    url: str | None = None,
) -> int:
    """Run as a scheduler process until ``stop`` is set or the clock reaches ``until``. Returns an exit code:
    0 on a normal stop, 1 when leadership was lost (the supervisor restarts the process)."""
    stop = stop or threading.Event()
    lock = LeaderLock(url or engine.url.render_as_string(hide_password=False))

    def finished() -> bool:
        return stop.is_set() or (until is not None and clock.now() >= until)

    log.info("scheduler waiting for leadership")
    while not finished():
        if lock.try_acquire():
            break
        stop.wait(poll_seconds)
    if not lock.held:
        return 0
    log.info("scheduler is the leader")
    if hasattr(clock, "real_seconds"):
        _use_clock(clock)
    sched = build(engine, clock, settings)
    sched.start()
    code = 0
    try:
        while not finished():
            stop.wait(min(poll_seconds, 1.0))
            if not lock.alive():
                log.error("leader lock lost; stopping")
                code = 1
                break
    finally:
        sched.shutdown(wait=code == 0)
        lock.release()
    log.info("scheduler stopped")
    return code


def exit_on_signals(stop: threading.Event) -> None:
    import signal

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


__all__ = ["FireTimeExecutor", "SimulatedClock", "build", "last_fire", "run", "sys"]
