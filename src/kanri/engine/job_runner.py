"""How one job runs: take its targets' locks, run its groups of steps, journal every step.

Each step is journaled ``started`` (one more attempt) and committed before its action
runs, and ``done`` or ``failed`` after. A manager that dies between the two leaves the
step ``started``; the manager that resumes the job runs the action again if the action is
idempotent by state (it re-reads the real state first and does nothing when the target
is already there), and otherwise fails the step as "outcome unknown" rather than repeat
a side effect it cannot check (safety rule 4: stop and ask).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kanri.domain.errors import KanriError, TimedOut
from kanri.domain.jobs import TIMEOUT, Job, JobState, Step, StepState, outcome

if TYPE_CHECKING:
    from kanri.engine.jobs import JobService

log = logging.getLogger(__name__)

PAUSE_ENV = "KANRI_TEST_PAUSE_AFTER_STEP"  # test only: see docs/jobs.md


class Stopped(Exception):
    """The manager is stopping: leave the job as journaled; the next start resumes it."""


@dataclass(frozen=True, slots=True)
class PausePoint:
    """``KIND:INDEX`` (after the step is journaled done), ``KIND:INDEX:acted`` (after the
    action, before it is journaled done) or ``KIND:INDEX:started`` (after it is journaled
    started, before the action)."""

    kind: str
    index: int
    phase: str = "done"

    @classmethod
    def from_env(cls) -> PausePoint | None:
        raw = os.environ.get(PAUSE_ENV)
        if not raw:
            return None
        parts = raw.split(":")
        if len(parts) not in (2, 3) or not parts[1].isdigit():
            raise KanriError(f"{PAUSE_ENV}={raw!r}: use KIND:INDEX or KIND:INDEX:PHASE")
        phase = parts[2] if len(parts) == 3 else "done"
        if phase not in ("started", "acted", "done"):
            raise KanriError(f"{PAUSE_ENV}={raw!r}: the phase is 'started', 'acted' or 'done'")
        return cls(parts[0], int(parts[1]), phase)


class JobRunner:
    """Runs jobs for a :class:`JobService`; one call of :meth:`run` per job, on a thread."""

    def __init__(self, service: JobService, step_workers: int) -> None:
        self.service = service
        self.repo = service.repo
        self.stop = service.stopping
        self.steps = ThreadPoolExecutor(step_workers, thread_name_prefix="kanri-step")
        self.pause = PausePoint.from_env()

    def shutdown(self) -> None:
        self.steps.shutdown(wait=False, cancel_futures=True)

    def run(self, job_id: int) -> None:
        try:
            self._run(job_id)
        except Stopped:
            log.info("job %s left to be resumed: the manager is stopping", job_id)
        except Exception:  # a bug must not kill the runner thread silently
            log.exception("job %s: runner failed", job_id)

    def _run(self, job_id: int) -> None:
        job = self.repo.get(job_id)
        if job.state.ended:
            return
        if not self._lock(job):
            return
        job = self.repo.get(job_id)
        if job.state is JobState.PENDING:
            job = self.repo.move(job_id, JobState.RUNNING)
        for group in job.groups():
            job = self.repo.get(job_id)
            if job.state is JobState.CANCELLING:
                break
            todo = [s for s in group if not s.state.ended]
            if todo:
                self._run_group(job, todo)
            if any(s.state is StepState.FAILED for s in self._steps_of(job_id, group)):
                self.repo.end_pending_steps(job_id, StepState.SKIPPED)
                break
        self._finish(job_id)

    def _steps_of(self, job_id: int, group: list[Step]) -> list[Step]:
        indexes = {s.index for s in group}
        return [s for s in self.repo.get(job_id).steps if s.index in indexes]

    def _finish(self, job_id: int) -> None:
        job = self.repo.get(job_id)
        cancelling = job.state is JobState.CANCELLING
        if cancelling:
            self.repo.end_pending_steps(job_id, StepState.CANCELLED)
            job = self.repo.get(job_id)
        end = outcome(job.steps, cancelling)
        failed = [s for s in job.steps if s.state is StepState.FAILED]
        error = f"step {failed[0].index} ({failed[0].name}): {failed[0].error}" if failed else None
        self.repo.move(job_id, end, error=error)
        self.repo.release(job_id)

    # locks ------------------------------------------------------------------------------

    def _lock(self, job: Job) -> bool:
        """Hold every target of the job; wait while another job holds one. False: ended."""
        options = self.service.options
        targets = set(job.targets) | {s.target for s in job.steps if s.target}
        started = time.monotonic()
        while True:
            held = self.repo.acquire(targets, job.id, self.service.owner, options.lease)
            if not held:
                if job.state is JobState.PENDING:
                    self.repo.note(job.id, None)
                return True
            waiting = "waiting for " + ", ".join(
                f"{t} held by job {j}" for t, j in sorted(held.items())
            )
            current = self.repo.get(job.id)
            if current.state is JobState.CANCELLING:
                self.repo.end_pending_steps(job.id, StepState.CANCELLED)
                self.repo.move(job.id, JobState.CANCELLED, error="cancelled " + waiting)
                return False
            wait_limit = options.lock_wait
            if wait_limit is not None and time.monotonic() - started > wait_limit:
                self.repo.end_pending_steps(job.id, StepState.CANCELLED)
                self.repo.move(
                    job.id, JobState.FAILED, error=f"gave up after {wait_limit:g}s {waiting}"
                )
                return False
            if current.state is JobState.PENDING and current.message != waiting:
                self.repo.note(job.id, waiting)
            if self.stop.wait(options.lock_poll):
                raise Stopped

    # steps ------------------------------------------------------------------------------

    def _run_group(self, job: Job, steps: list[Step]) -> None:
        limit = int(job.params.get("max_parallel") or 0) or len(steps)
        gate = threading.Semaphore(limit)
        per_bmc: dict[str, threading.Semaphore] = {}
        bmc_of = {s.index: self._bmc_of(s.target) for s in steps}
        for url in set(bmc_of.values()):
            per_bmc[url] = threading.Semaphore(max(1, self.service.options.per_bmc))

        def one(step: Step) -> None:
            with per_bmc[bmc_of[step.index]], gate:
                self._run_step(job, step)

        futures = [self.steps.submit(one, s) for s in steps]
        wait(futures)
        for future in futures:
            if isinstance(future.exception(), Stopped):
                raise Stopped

    def _bmc_of(self, target: str | None) -> str:
        """The BMC a step's target is behind (itself when it is no machine kanri knows)."""
        if target is None:
            return ""
        try:
            return self.service.machines.get_machine(target).bmc_url
        except KanriError:
            return target

    def _run_step(self, job: Job, step: Step) -> None:
        if self.stop.is_set():
            raise Stopped
        action = self.service.action(step.action)
        if step.state is StepState.STARTED and not action.idempotent:
            self.repo.step_end(
                job.id,
                step.index,
                StepState.FAILED,
                error="interrupted by a manager stop while it ran; its outcome is unknown "
                "and it is not repeated: check the target and run it again",
            )
            return
        started = self.repo.step_start(job.id, step.index)
        if started is None:  # cancelled meanwhile
            return
        self._maybe_pause(job, step, "started")
        try:
            result = action.run(self.service.context(job.id), started)
        except Stopped:
            raise
        except KanriError as exc:
            # A step that waited in vain says so in its result: `--wait` exits 7 for it.
            failure = {"failure": TIMEOUT} if isinstance(exc, TimedOut) else None
            self.repo.step_end(job.id, step.index, StepState.FAILED, failure, str(exc))
            return
        except Exception as exc:
            if self.stop.is_set():  # e.g. the driver pool shut down under it: leave it started
                raise Stopped from exc
            log.exception("job %s step %s failed", job.id, step.index)
            self.repo.step_end(
                job.id, step.index, StepState.FAILED, error=f"{type(exc).__name__}: {exc}"
            )
            return
        self._maybe_pause(job, step, "acted")
        self.repo.step_end(job.id, step.index, StepState.DONE, result=result)
        self._maybe_pause(job, step, "done")

    def _maybe_pause(self, job: Job, step: Step, phase: str) -> None:
        p = self.pause
        if p is None or (p.kind, p.index, p.phase) != (job.kind, step.index, phase):
            return
        log.warning("%s: job %s paused after step %s (%s)", PAUSE_ENV, job.id, step.index, phase)
        self.stop.wait()
        raise Stopped


@dataclass(frozen=True, slots=True)
class Action:
    """A step's action. ``idempotent``: running it again after it already acted does
    nothing more, because it re-reads the real state first."""

    run: Callable[[Any, Step], dict[str, Any] | None]
    idempotent: bool = True
