"""The monitor: one poller per BMC on a jittered interval, turning what changed into
observations for the EventService (docs/monitoring.md).

Each BMC's machines are polled in turn (the driver's per-BMC cap bounds them anyway) and
at most ``workers`` BMCs are polled at once. A BMC that does not answer ends its round
(the sync loop, reading the same BMCs, reports it unreachable once). Pushed and
streamed events (engine/intake.py) reach the EventService at once and ask for an
early poll of their machine, so the event gains its SEL lines and readings in seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from kanri.domain.errors import BmcError, BmcUnreachable, KanriError
from kanri.domain.faults import Observation
from kanri.domain.model import Bmc, Machine
from kanri.domain.monitoring import MonitorMemory, compare
from kanri.domain.states import SystemKind
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.store.monitor_repo import MonitorRepository
from kanri.store.repo import Repository

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def observe(self, obs: Observation) -> object: ...


@dataclass(frozen=True, slots=True)
class MonitorOptions:
    interval: float = 30.0  # seconds between two polls of one BMC
    jitter: float = 0.2  # each wait is interval * (1 - up to jitter): BMCs not polled in step
    workers: int = 16  # BMCs polled at once
    tick: float = 0.5  # how often the loop looks for due BMCs and early polls
    refresh: float = 5.0  # seconds the list of machines is reused between two ticks


@dataclass(slots=True)
class RoundResult:
    bmc: str
    polled: int = 0
    failed: bool = False
    observations: list[Observation] = field(default_factory=list)


class Monitor:
    def __init__(
        self,
        repo: Repository,
        store: MonitorRepository,
        drivers: Drivers,
        calls: DriverCalls,
        events: EventSink,
        options: MonitorOptions | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repo = repo
        self.store = store
        self.drivers = drivers
        self.calls = calls
        self.events = events
        self.options = options or MonitorOptions()
        self.now = now
        self._memory: dict[str, MonitorMemory] = {}
        self._loaded = False
        self._due: dict[str, float] = {}
        self._running: set[str] = set()
        self._early: set[str] = set()  # machines a pushed event asked to poll soon
        self._lock = threading.Lock()
        # One poll of a machine at a time: a round and an early poll of the same machine
        # would both compare against the same memory and raise its SEL lines twice.
        self._polling: dict[str, threading.Lock] = {}
        self._listing: tuple[float, list[tuple[Machine, Bmc]]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # one round ------------------------------------------------------------------------

    def poll_bmc(self, bmc: Bmc, machines: list[Machine]) -> RoundResult:
        """Poll every machine of one BMC once, up to the BMC's cap at a time (one after
        another, a 250-blade enclosure took 3 s a round: bench/detection.py); report what
        changed, each machine's as soon as it is polled. The first unreachable answer ends
        the round; so does a stopping manager."""
        self._load()
        result = RoundResult(bmc.url)
        waiting = deque(machines)
        guard = threading.Lock()

        def work() -> None:
            while not self._stop.is_set():
                with guard:
                    if result.failed or not waiting:
                        return
                    machine = waiting.popleft()
                try:
                    found = self._poll(bmc, machine)
                except BmcUnreachable as exc:
                    # The rest of this BMC would fail the same way, each after a timeout.
                    # The sync loop, which reads the same BMCs, reports it unreachable.
                    with guard:
                        result.failed = True
                    log.info("monitor: %s: %s", bmc.url, exc)
                    return
                except KanriError as exc:  # this machine only: its system, its driver
                    log.warning("monitor: %s: %s", machine.name, exc)
                    continue
                with guard:
                    result.observations += found
                    result.polled += 1
                # Told at once, not at the end of the round: a 250-blade round takes
                # seconds, and each fault would wait for the rest of it
                # (bench/detection.py, docs/performance.md).
                for obs in found:
                    self._observe(obs)

        cap = max(1, min(self.drivers.context.options.per_bmc_concurrency, len(machines)))
        helpers = [
            threading.Thread(target=work, name=f"kanri-monitor-{n}", daemon=True)
            for n in range(cap - 1)
        ]
        for helper in helpers:
            helper.start()
        work()
        for helper in helpers:
            helper.join()
        return result

    def first_look(self, bmc: Bmc, machines: list[Machine]) -> RoundResult:
        """Poll those of ``machines`` never polled yet, now (the intake asks before it
        subscribes: the first event pushed then finds a memory to compare against, and
        the poll it asks for raises the SEL lines written since)."""
        self._load()
        with self._lock:
            new = [m for m in machines if m.name not in self._memory]
        return self.poll_bmc(bmc, new) if new else RoundResult(bmc.url)

    def _poll(self, bmc: Bmc, machine: Machine) -> list[Observation]:
        driver = self.drivers.monitor(machine.driver)
        with self._lock:
            one_at_a_time = self._polling.setdefault(machine.name, threading.Lock())
        with one_at_a_time:
            with self._lock:
                before = self._memory.get(machine.name, MonitorMemory())
            cursor = before.sel_cursor if before.known else None
            report = driver.poll(bmc, machine.system_id, cursor)
            found, after = compare(
                machine.name,
                before,
                report,
                report.sel_cursor,
                self.now(),
                own_rollup=machine.inventory.kind is not SystemKind.PARTITION,
            )
            if after != before:
                # Stored before it is believed: a manager that dies now polls again from
                # the old memory (the same lines again grow the same event) rather than
                # forgetting lines it never recorded.
                self.store.save(machine.name, after)
            with self._lock:
                self._memory[machine.name] = after
            return found

    def _observe(self, obs: Observation) -> None:
        try:
            self.events.observe(obs)
        except Exception:  # one bad event must not stop the monitor watching the rest
            log.exception("monitor: could not record %s on %s", obs.kind, obs.target)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
        memories = self.store.memories()
        with self._lock:
            if not self._loaded:
                self._memory.update(memories)
                self._loaded = True

    # early polls ----------------------------------------------------------------------

    def poll_soon(self, machine: str) -> None:
        """Poll ``machine`` at the next tick, not at its BMC's next round."""
        with self._lock:
            self._early.add(machine)

    def run_early(self, by_name: dict[str, tuple[Machine, Bmc]] | None = None) -> None:
        """Start the early polls asked for (in the pool; the loop does this every tick)."""
        if by_name is None:
            by_name = {m.name: (m, b) for m, b in self.repo.machines_with_bmcs()}
        with self._lock:
            names, self._early = self._early, set()
        for name in names:
            if name in by_name:
                machine, bmc = by_name[name]
                if not self._submit(f"early:{name}", self._early_round, bmc, machine):
                    self.poll_soon(name)  # one is still running, or the pool is full

    def _early_round(self, bmc: Bmc, machine: Machine) -> None:
        try:
            found = self._poll(bmc, machine)
        except BmcError as exc:
            log.info("monitor: early poll of %s: %s", machine.name, exc)
            return
        except KanriError as exc:
            log.warning("monitor: early poll of %s: %s", machine.name, exc)
            return
        for obs in found:
            self._observe(obs)

    # the loop -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kanri-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # the loop outlives a bad tick (a database blip, a bug)
                log.exception("monitor: tick failed")
            self._stop.wait(self.options.tick)

    def _machines(self, clock: float) -> list[tuple[Machine, Bmc]]:
        """Every machine with its BMC, read again at most every ``refresh`` seconds (the
        loop ticks far more often than machines are added)."""
        if self._listing is None or clock - self._listing[0] >= self.options.refresh:
            self._listing = (clock, self.repo.machines_with_bmcs())
        return self._listing[1]

    def _tick(self) -> None:
        by_bmc: dict[str, tuple[Bmc, list[Machine]]] = {}
        by_name: dict[str, tuple[Machine, Bmc]] = {}
        clock = time.monotonic()
        listing = self._machines(clock)
        with self._lock:
            early = set(self._early)
        if early - {machine.name for machine, _ in listing}:  # a machine added just now
            self._listing = None
            listing = self._machines(clock)
        for machine, bmc in listing:
            by_bmc.setdefault(bmc.url, (bmc, []))[1].append(machine)
            by_name[machine.name] = (machine, bmc)
        self.run_early(by_name)
        for url, (bmc, machines) in by_bmc.items():
            first = random.uniform(0, min(self.options.interval, 2.0))  # soon, not in step
            due = self._due.setdefault(url, clock + first)
            if due <= clock and self._submit(url, self.poll_bmc, bmc, machines):
                spread = self.options.interval * self.options.jitter
                # Only ever earlier: no machine waits longer than the interval between
                # two polls (the bound docs/performance.md measures against).
                self._due[url] = clock + self.options.interval - random.uniform(0, spread)
        for url in set(self._due) - set(by_bmc):
            del self._due[url]

    def _submit(self, key: str, fn: Callable[..., object], bmc: Bmc, *args: object) -> bool:
        """Run ``fn`` in the pool unless the same key is still running there."""
        with self._lock:
            if key in self._running or len(self._running) >= self.options.workers:
                return False
            self._running.add(key)

        def done(_: Future[None]) -> None:
            with self._lock:
                self._running.discard(key)

        def run(target: Bmc) -> None:
            try:
                fn(target, *args)
            except Exception:  # a bug, not a BMC's answer: say so, keep watching the rest
                log.exception("monitor: %s failed", key)

        try:
            self.calls.submit(run, bmc).add_done_callback(done)
        except RuntimeError:  # the pool is shutting down: the manager is stopping
            with self._lock:
                self._running.discard(key)
            return False
        return True
