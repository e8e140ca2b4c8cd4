"""The durable job service: submit, plan, run, cancel and resume jobs.

A job kind is a *planner* (``planner(targets, params, context) -> [StepSpec]``) that turns
a request into steps once, at submit; a step names an *action*
(``action(context, step) -> result``) that re-reads the real state before it acts. Both
are registered by name. See docs/jobs.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kanri.domain.errors import Invalid
from kanri.domain.jobs import Job, JobState, Step, StepSpec
from kanri.engine.job_runner import Action, JobRunner
from kanri.engine.power import PowerService
from kanri.store.jobs_repo import JobRepository
from kanri.store.repo import Repository

log = logging.getLogger(__name__)

MAX_TARGETS = 10_000


@dataclass(frozen=True, slots=True)
class JobOptions:
    runners: int = 8  # jobs running at once
    step_workers: int = 64  # steps in flight at once, over all jobs
    lease: float = 30.0  # seconds a manager's hold on a job and its locks lasts unrenewed
    heartbeat: float = 5.0  # seconds between renewals (and looks for orphaned jobs)
    lock_wait: float | None = 3600.0  # a job waits this long for held targets, then fails
    lock_poll: float = 1.0  # seconds between tries while waiting for a target
    settle_poll: float = 1.0  # seconds between power reads while a step waits to settle
    # Steps of one job in flight per BMC: the driver's per-BMC cap. More would only queue
    # behind that cap, where the time counts against each call's deadline (110 s): at 1 s
    # BMC latency, 200 steps on one enclosure manager failed as "no answer" before this.
    per_bmc: int = 4


@dataclass(frozen=True, slots=True)
class JobContext:
    """What planners and actions may use."""

    job_id: int | None
    repo: Repository
    power: PowerService
    options: JobOptions
    stopping: threading.Event


Planner = Callable[[list[str], dict[str, Any], JobContext], list[StepSpec]]
ActionFn = Callable[[JobContext, Step], dict[str, Any] | None]


class JobService:
    def __init__(
        self,
        jobs: JobRepository,
        repo: Repository,
        power: PowerService,
        owner: str,
        predecessor_prefix: str | None = None,
        options: JobOptions | None = None,
    ) -> None:
        self.repo = jobs
        self.machines = repo
        self.power = power
        self.owner = owner
        self.predecessor_prefix = predecessor_prefix
        self.options = options or JobOptions()
        self.stopping = threading.Event()
        self._planners: dict[str, Planner] = {}
        self._actions: dict[str, Action] = {}
        self._pool = ThreadPoolExecutor(self.options.runners, thread_name_prefix="kanri-job")
        self._runner = JobRunner(self, self.options.step_workers)
        self._heartbeat: threading.Thread | None = None
        self._running: set[int] = set()
        self._lock = threading.Lock()

    # registry ---------------------------------------------------------------------------

    def register(self, kind: str, planner: Planner) -> None:
        self._planners[kind] = planner

    def register_action(self, name: str, fn: ActionFn, idempotent: bool = True) -> None:
        self._actions[name] = Action(fn, idempotent)

    def action(self, name: str) -> Action:
        try:
            return self._actions[name]
        except KeyError:
            raise Invalid(f"no job action named {name!r}") from None

    @property
    def kinds(self) -> list[str]:
        return sorted(self._planners)

    def context(self, job_id: int | None) -> JobContext:
        return JobContext(job_id, self.machines, self.power, self.options, self.stopping)

    # operations -------------------------------------------------------------------------

    def submit(self, kind: str, targets: list[str], params: dict[str, Any] | None = None) -> Job:
        """Plan and store a job, then run it. Bad input raises before anything is stored."""
        planner = self._planners.get(kind)
        if planner is None:
            known = ", ".join(self.kinds) or "none"
            raise Invalid(f"no job kind {kind!r} (known: {known})")
        if not targets:
            raise Invalid("a job needs at least one target")
        if len(targets) > MAX_TARGETS:
            raise Invalid(f"at most {MAX_TARGETS} targets in one job")
        if len(set(targets)) != len(targets):
            raise Invalid("a target is named twice")
        params = dict(params or {})
        specs = planner(list(targets), params, self.context(None))
        for spec in specs:
            self.action(spec.action)  # a planner naming an unknown action is a bug: say so
        job = self.repo.create(kind, list(targets), params, specs, self.owner, self.options.lease)
        log.info("job %s (%s) on %s: %d steps", job.id, kind, ", ".join(targets), len(specs))
        self._start(job.id)
        return job

    def cancel(self, job_id: int) -> Job:
        return self.repo.request_cancel(job_id)

    def get(self, job_id: int) -> Job:
        return self.repo.get(job_id)

    def list_jobs(
        self, state: JobState | None = None, kind: str | None = None, limit: int = 100
    ) -> list[Job]:
        return self.repo.list_jobs(state, kind, limit)

    # life -------------------------------------------------------------------------------

    def start(self) -> None:
        """Resume what an earlier run left, then keep leases alive."""
        self._adopt()
        self._heartbeat = threading.Thread(target=self._beat, name="kanri-jobs", daemon=True)
        self._heartbeat.start()

    def stop(self) -> None:
        """Stop starting steps; running jobs are left as journaled, to be resumed."""
        self.stopping.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._runner.shutdown()

    def _start(self, job_id: int) -> None:
        with self._lock:
            if job_id in self._running:
                return
            self._running.add(job_id)
        self._pool.submit(self._run, job_id)

    def _run(self, job_id: int) -> None:
        try:
            self._runner.run(job_id)
        finally:
            with self._lock:
                self._running.discard(job_id)

    def _adopt(self) -> None:
        for job_id in self.repo.adopt(self.owner, self.options.lease, self.predecessor_prefix):
            log.warning("resuming job %s left by a manager that is gone", job_id)
            self._start(job_id)

    def _beat(self) -> None:
        while not self.stopping.wait(self.options.heartbeat):
            try:
                self.repo.renew(self.owner, self.options.lease)
                self._adopt()
            except Exception:  # the database may be away for a moment; try again next beat
                log.exception("job heartbeat failed")
