"""The scheduler loop: fires schedules' runs as jobs, each run once.

Every tick looks at each schedule's runs since the last one recorded (or since the
schedule was made) up to now. A run less than ``grace`` late fires; older ones were
missed while no manager was up and follow the schedule's policy. A run is *claimed* in the
database (a unique (schedule, due time) row) before its job is submitted, so that two
managers sharing a database, or a tick racing another, never fire one run twice. A manager
that dies between the claim and the submit loses that run: at most once, never twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kanri.domain.errors import KanriError
from kanri.domain.schedules import RunStatus, StoredSchedule, next_runs, plan_due, runs_between
from kanri.engine.schedules import Clock, JobSubmitter, ScheduleService, system_clock

log = logging.getLogger(__name__)

CLOCK_ENV = "KANRI_TEST_CLOCK_OFFSET"  # test only: see docs/schedules.md


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    interval: float = 30.0  # seconds between looks at most (a new schedule is seen by then)
    grace: timedelta = timedelta(minutes=2)  # later than this, a run counts as missed
    lookback: timedelta = timedelta(days=31)  # missed runs older than this are not looked at
    max_due: int = 1000  # runs looked at per schedule and tick, the latest ones


def clock_from_env() -> Clock:
    """The schedules' clock: the system's, shifted by ``KANRI_TEST_CLOCK_OFFSET`` seconds
    when that is set (tests only: schedules are minute-grained, and a test cannot wait up
    to a minute for a run to come due). Never set it in production."""
    raw = os.environ.get(CLOCK_ENV)
    if not raw:
        return system_clock
    try:
        offset = timedelta(seconds=float(raw))
    except ValueError:
        raise KanriError(f"{CLOCK_ENV}={raw!r}: give a number of seconds") from None
    log.warning("%s: schedules run %+gs off the system clock", CLOCK_ENV, offset.total_seconds())
    return lambda: system_clock() + offset


def _job_id(job: object) -> str:
    return str(getattr(job, "id", job))


class Scheduler:
    def __init__(
        self,
        service: ScheduleService,
        submitter: JobSubmitter | None,
        options: SchedulerOptions | None = None,
        clock: Clock = system_clock,
        owner: str | None = None,
    ) -> None:
        self.service = service
        self.submitter = submitter
        self.options = options or SchedulerOptions()
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Fire what is due now; returns how many runs this manager submitted."""
        now = self.clock()
        fired = 0
        for stored in self.service.schedules():
            if not stored.schedule.enabled:
                continue
            try:
                fired += self._due(stored, now)
            except Exception:  # one broken schedule must not stop the others
                log.exception("schedule %s: could not look at its runs", stored.schedule.name)
        return fired

    def _due(self, stored: StoredSchedule, now: datetime) -> int:
        store = self.service.store
        schedule = stored.schedule
        since = max(store.last_due(stored.id) or stored.runs_from, stored.runs_from)
        since = max(since, now - self.options.lookback)
        calendar = self.service.calendar_of(schedule)
        due = runs_between(schedule, calendar, since, now, self.options.max_due)
        plan = plan_due(due, now, self.options.grace, schedule.missed)
        if plan.skipped is not None:
            detail = f"{plan.missed} run(s) missed while no manager was up; policy skip"
            if store.claim_run(stored.id, plan.skipped, RunStatus.SKIPPED, self.owner, detail):
                log.info("schedule %s: %s", schedule.name, detail)
                self.service.repo.add_event(
                    "schedule.missed", "warning", schedule.target,
                    f"schedule {schedule.name}: {detail}",
                )  # fmt: skip
        fired = 0
        for at in plan.fire:
            missed = plan.missed if at < now - self.options.grace else 0
            detail = f"late: {missed} run(s) missed, policy run_once" if missed else ""
            run_id = store.claim_run(stored.id, at, RunStatus.CLAIMED, self.owner, detail)
            if run_id is None:
                continue  # another manager (or an earlier tick) has it
            fired += self._fire(stored, at, run_id)
        return fired

    def _fire(self, stored: StoredSchedule, at: datetime, run_id: int) -> int:
        schedule = stored.schedule
        store = self.service.store
        params: dict[str, Any] = {"action": schedule.action.value, "wait": False}
        try:
            if self.submitter is None:
                raise KanriError("no job engine to submit to")
            targets = self.service.groups.expand([schedule.target])
            if not targets:
                raise KanriError(f"group {schedule.target} has no members")
            job = self.submitter.submit("power", targets, params)
        except KanriError as exc:
            store.finish_run(run_id, RunStatus.FAILED, detail=str(exc))
            self.service.repo.add_event(
                "schedule.failed", "warning", schedule.target,
                f"schedule {schedule.name}: run due {at.isoformat()} not submitted: {exc}",
            )  # fmt: skip
            return 0
        job_id = _job_id(job)
        store.finish_run(run_id, RunStatus.SUBMITTED, job_id=job_id)
        self.service.repo.add_event(
            "schedule.fired", "info", schedule.target,
            f"schedule {schedule.name}: {schedule.action.value} {schedule.target} (job {job_id})",
            {"schedule": schedule.name, "due_at": at.isoformat(), "job": job_id},
        )  # fmt: skip
        return 1

    def seconds_to_next(self) -> float:
        """How long the loop may sleep: to the next run of any schedule, at most
        ``interval``."""
        now = self.clock()
        wait = self.options.interval
        for stored in self.service.schedules():
            if not stored.schedule.enabled:
                continue
            try:
                calendar = self.service.calendar_of(stored.schedule)
            except KanriError:
                continue
            runs = next_runs(stored.schedule, calendar, now, 1)
            if runs:
                wait = min(wait, (runs[0] - now).total_seconds())
        return max(wait, 0.05)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
                wait = self.seconds_to_next()
            except Exception:
                log.exception("scheduler tick failed")
                wait = self.options.interval
            self._wake.wait(wait)
            self._wake.clear()

    def wake(self) -> None:
        """Look again now (a schedule was added)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kanri-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
