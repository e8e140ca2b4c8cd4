"""The power-state sync loop: every machine's power read back on a jittered interval.

A reading that did not change costs no database write. A settled reading that differs
from what kanri last set is recorded once as a ``power.drift`` event, and a machine whose
BMC fails several polls in a row becomes unreachable, once, as an event too. A machine a
command is settling on, or a live job holds (a cascade stops and starts it step by step),
is in transition: its reading is recorded, and is no drift.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kanri.domain.errors import NotFound
from kanri.domain.faults import Observation, Severity, Source
from kanri.domain.model import Bmc, Machine
from kanri.domain.monitoring import UNREACHABLE
from kanri.domain.states import PowerState
from kanri.drivers.base import BmcUnreachable, DriverError
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.store.jobs_repo import JobRepository
from kanri.store.repo import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    interval: float = 10.0  # seconds between the starts of two sweeps
    jitter: float = 0.1  # each wait is interval * (1 ± jitter): managers do not beat in step
    unreachable_after: int = 3  # failed polls in a row before a machine is unreachable
    settle_grace: float = 120.0  # after a command, a differing reading is a transition
    # A sweep stops waiting here: a BMC that hangs delays its own machines, not everyone's
    # next sweep. Reads still out are not asked again until they end.
    deadline: float = 60.0


@dataclass(slots=True)
class SweepStats:
    machines: int = 0
    ok: int = 0
    failed: int = 0
    changed: int = 0
    late: int = 0  # not read by the deadline, or still out from an earlier sweep
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)
    # Readings that changed what the store knew (power None: became unreachable), for
    # run-state keeping (engine/runstates.py), in the order they were recorded.
    changes: list[tuple[Machine, PowerState | None]] = field(default_factory=list)


class PowerSync:
    def __init__(
        self,
        repo: Repository,
        drivers: Drivers,
        calls: DriverCalls,
        options: SyncOptions | None = None,
    ) -> None:
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        self.options = options or SyncOptions()
        # Which live job holds a machine (the store's target locks, leases not expired).
        self.job_holder: Callable[[str], int | None] = JobRepository(repo.db).holder
        # The event service's observe (set by the manager): unreachable BMCs become events
        # that clear; without it they are plain records.
        self.observe: Callable[[Observation], object] | None = None
        # Run-state keeping (set by the manager): told of each sweep's changes after it.
        self.after_sweep: Callable[[list[tuple[Machine, PowerState | None]]], object] | None = None
        self._failures: dict[str, int] = {}
        self._drift_reported: set[str] = set()
        self._out: set[str] = set()  # machines whose read is still in the pool
        self._out_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_sweep: SweepStats | None = None

    # one sweep ------------------------------------------------------------------------

    def sweep(self) -> SweepStats:
        """Read every machine's power once.

        Each BMC's machines queue apart and at most ``per_bmc_concurrency`` of them are in
        the worker pool at once, the next submitted as one completes. Submitted all at
        once in BMC order, the pool's workers would all take the first BMC's machines and
        wait on its per-BMC cap while the other BMCs sat idle (with BMCs answering in
        0.1 s, 32 workers read ~50 machines a second instead of ~260: see
        docs/performance.md); and a slow BMC now holds that many workers, not all of them.
        The first unreachable answer from a BMC fails the rest of its queue at once, and
        the sweep ends at its deadline whatever is still out.
        """
        started = time.monotonic()
        stats = SweepStats()
        queues: dict[str, deque[tuple[Machine, Bmc]]] = defaultdict(deque)
        with self._out_lock:
            out = set(self._out)
        for machine, bmc in self.repo.machines_with_bmcs():
            stats.machines += 1
            if machine.name in out:
                stats.late += 1
            else:
                queues[bmc.url].append((machine, bmc))
        window = max(1, self.drivers.context.options.per_bmc_concurrency)
        pending: dict[Future[PowerState], tuple[Machine, str]] = {}

        def submit_next(url: str) -> None:
            machine, bmc = queues[url].popleft()
            driver = self.drivers.power(machine.driver)
            future = self.calls.submit(driver.get_power, bmc, machine.system_id)
            self._track(machine.name, future)
            pending[future] = (machine, url)

        for url, queue in queues.items():
            for _ in range(min(window, len(queue))):
                submit_next(url)
        end = started + self.options.deadline
        while pending and not self._stop.is_set() and (remaining := end - time.monotonic()) > 0:
            # Wake at least once a second: a manager stopping does not wait out a hung BMC.
            done, _ = wait(pending, timeout=min(remaining, 1.0), return_when=FIRST_COMPLETED)
            for future in done:
                machine, url = pending.pop(future)
                self._settle(future, machine, queues[url], stats)
                if queues[url]:
                    submit_next(url)
        stats.late += len(pending) + sum(len(queue) for queue in queues.values())
        if self.after_sweep is not None:
            try:
                self.after_sweep(stats.changes)
            except Exception:  # run states must not end the sweep loop
                log.exception("run-state keeping after the sweep failed")
        stats.seconds = time.monotonic() - started
        self.last_sweep = stats
        return stats

    def _track(self, name: str, future: Future[PowerState]) -> None:
        with self._out_lock:
            self._out.add(name)

        def done(_: Future[PowerState]) -> None:
            with self._out_lock:
                self._out.discard(name)

        future.add_done_callback(done)

    def _settle(
        self,
        future: Future[PowerState],
        machine: Machine,
        queue: deque[tuple[Machine, Bmc]],
        stats: SweepStats,
    ) -> None:
        """Record one read's outcome (and, for an unreachable BMC, its queue's)."""
        try:
            try:
                power = future.result()
            except DriverError as exc:
                failed = [machine]
                if isinstance(exc, BmcUnreachable):
                    # A BMC that does not answer fails the same way for each of its
                    # machines; asking the rest would make a dead 100-blade chassis
                    # cost 100 connect timeouts, and this sweep minutes.
                    failed += [queued for queued, _ in queue]
                    queue.clear()
                stats.failed += len(failed)
                for each in failed:
                    self._failed(each, exc, stats)
            else:
                stats.ok += 1
                self._read(machine, power, stats)
        except NotFound:
            log.info("%s was removed or renamed during the sweep", machine.name)

    def _read(self, machine: Machine, power: PowerState, stats: SweepStats) -> None:
        name = machine.name
        self._failures.pop(name, None)
        if power != machine.power or not machine.reachable:
            self.repo.record_power(name, power, reachable=True)
            stats.changed += 1
            stats.changes.append((machine, power))
            if not machine.reachable:
                self._observe(name, f"{name} answers again", cleared=True)
                self._event(stats, "bmc.reachable", "info", name, f"{name} answers again")
        if self._settled_off_target(machine, power):
            desired = None if name in self._drift_reported else self._drifted(name, power)
            if desired is not None:
                self._drift_reported.add(name)
                self._event(
                    stats,
                    "power.drift",
                    "warning",
                    name,
                    f"{name} is {power.value} but kanri last set it {desired.value}",
                    {"observed": power.value, "desired": desired.value},
                )
        elif power == machine.desired_power:
            self._drift_reported.discard(name)

    def _settled_off_target(self, machine: Machine, power: PowerState) -> bool:
        """A settled reading that differs from what kanri last set, with no command of
        kanri's settling on the machine (as ``machine`` was read)."""
        desired = machine.desired_power
        if desired is None or not power.settled or power == desired:
            return False
        commanded = machine.power_commanded_at
        return commanded is None or (
            datetime.now(UTC) - commanded >= timedelta(seconds=self.options.settle_grace)
        )

    def _drifted(self, name: str, power: PowerState) -> PowerState | None:
        """What kanri set, as stored now, if ``power`` is drift after all; None while a live job
        holds it (a cascade acts on it step by step) or a command came after the sweep read
        the store. Asked only of a reading that looks like drift: rare, and never a write."""
        job = self.job_holder(name)
        if job is not None:
            log.debug("%s reads %s while job %s holds it: not drift", name, power.value, job)
            return None
        fresh = self.repo.get_machine(name)
        return fresh.desired_power if self._settled_off_target(fresh, power) else None

    def _failed(self, machine: Machine, exc: DriverError, stats: SweepStats) -> None:
        name = machine.name
        count = self._failures.get(name, 0) + 1
        self._failures[name] = count
        log.debug("%s: poll failed (%d in a row): %s", name, count, exc)
        if count == self.options.unreachable_after and machine.reachable:
            self.repo.record_power(name, machine.power, reachable=False)
            stats.changed += 1
            stats.changes.append((machine, None))
            message = f"{name}: BMC failed {count} polls in a row: {exc.reason}"
            details = {"bmc": exc.bmc_url, "reason": exc.reason, "error": type(exc).__name__}
            if self.observe is None:
                self._event(stats, UNREACHABLE, "critical", name, message, details)
            else:
                self._observe(name, message, details=details)
                stats.events.append(UNREACHABLE)

    def _observe(
        self, name: str, message: str, details: dict[str, str] | None = None, cleared: bool = False
    ) -> None:
        """An unreachable BMC is a condition: one event, cleared when it answers again (and
        rules may act on it), when the manager has an event service."""
        if self.observe is None:
            return
        self.observe(
            Observation(
                target=name,
                kind=UNREACHABLE,
                severity=Severity.INFO if cleared else Severity.CRITICAL,
                message=message,
                source=Source.POLL,
                seen_at=datetime.now(UTC),
                clears=cleared,
                details=dict(details or {}),
            )
        )

    def _event(
        self,
        stats: SweepStats,
        kind: str,
        severity: str,
        target: str,
        message: str,
        details: dict[str, str] | None = None,
    ) -> None:
        self.repo.add_event(kind, severity, target, message, details)
        stats.events.append(kind)
        log.info("event %s: %s", kind, message)

    # the loop -------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kanri-power-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                stats = self.sweep()
                log.debug(
                    "sweep: %d machines, %d failed, %d changed in %.2fs",
                    stats.machines,
                    stats.failed,
                    stats.changed,
                    stats.seconds,
                )
            except Exception:  # a database hiccup must not end the loop
                log.exception("power sync sweep failed")
            jitter = 1 + random.uniform(-self.options.jitter, self.options.jitter)
            wait = self.options.interval * jitter - (time.monotonic() - started)
            self._stop.wait(max(wait, 0.0))
