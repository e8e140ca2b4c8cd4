"""The power-state sync loop: every machine's power read back on a jittered interval.

A reading that did not change costs no database write. A settled reading that differs
from what kanri last set is recorded once as a ``power.drift`` event, and a machine whose
BMC fails several polls in a row becomes unreachable, once, as an event too.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field

from kanri.domain.model import Machine
from kanri.domain.states import PowerState
from kanri.drivers.base import DriverError
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.engine.power import RecentCommands
from kanri.store.repo import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    interval: float = 10.0  # seconds between the starts of two sweeps
    jitter: float = 0.1  # each wait is interval * (1 ± jitter): managers do not beat in step
    unreachable_after: int = 3  # failed polls in a row before a machine is unreachable
    settle_grace: float = 120.0  # after a command, a differing reading is a transition


@dataclass(slots=True)
class SweepStats:
    machines: int = 0
    ok: int = 0
    failed: int = 0
    changed: int = 0
    seconds: float = 0.0
    events: list[str] = field(default_factory=list)


class PowerSync:
    def __init__(
        self,
        repo: Repository,
        drivers: Drivers,
        calls: DriverCalls,
        recent: RecentCommands,
        options: SyncOptions | None = None,
    ) -> None:
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        self.recent = recent
        self.options = options or SyncOptions()
        self._failures: dict[str, int] = {}
        self._drift_reported: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_sweep: SweepStats | None = None

    # one sweep ------------------------------------------------------------------------

    def sweep(self) -> SweepStats:
        started = time.monotonic()
        stats = SweepStats()
        pending: dict[Future[PowerState], Machine] = {}
        for machine, bmc in self.repo.machines_with_bmcs():
            driver = self.drivers.power(machine.driver)
            pending[self.calls.submit(driver.get_power, bmc, machine.system_id)] = machine
        stats.machines = len(pending)
        for future in as_completed(pending):
            machine = pending[future]
            try:
                power = future.result()
            except DriverError as exc:
                stats.failed += 1
                self._failed(machine, exc, stats)
                continue
            stats.ok += 1
            self._read(machine, power, stats)
        stats.seconds = time.monotonic() - started
        self.last_sweep = stats
        return stats

    def _read(self, machine: Machine, power: PowerState, stats: SweepStats) -> None:
        name = machine.name
        self._failures.pop(name, None)
        if power != machine.power or not machine.reachable:
            self.repo.record_power(name, power, reachable=True)
            stats.changed += 1
            if not machine.reachable:
                self._event(stats, "bmc.reachable", "info", name, f"{name} answers again")
        desired = machine.desired_power
        in_transition = self.recent.within(name, self.options.settle_grace)
        if desired is None or not power.settled or in_transition:
            return
        if power != desired and name not in self._drift_reported:
            self._drift_reported.add(name)
            self._event(
                stats,
                "power.drift",
                "warning",
                name,
                f"{name} is {power.value} but kanri last set it {desired.value}",
                {"observed": power.value, "desired": desired.value},
            )
        elif power == desired:
            self._drift_reported.discard(name)

    def _failed(self, machine: Machine, exc: DriverError, stats: SweepStats) -> None:
        name = machine.name
        count = self._failures.get(name, 0) + 1
        self._failures[name] = count
        log.debug("%s: poll failed (%d in a row): %s", name, count, exc)
        if count == self.options.unreachable_after and machine.reachable:
            self.repo.record_power(name, machine.power, reachable=False)
            stats.changed += 1
            self._event(
                stats,
                "bmc.unreachable",
                "error",
                name,
                f"{name}: BMC failed {count} polls in a row: {exc.reason}",
                {"bmc": exc.bmc_url, "reason": exc.reason, "error": type(exc).__name__},
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
