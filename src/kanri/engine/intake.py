"""Push intake: Redfish event subscriptions that POST to the manager, and BMCs' SSE
streams, both feeding the EventService at once (docs/monitoring.md).

Push needs the BMCs to reach the manager: ``push_url`` is the manager's address as the
BMCs see it. Each BMC gets its own random secret in the destination path; an event that
does not carry a known secret is refused, so nobody can forge faults. Without a push
URL, BMCs that offer an SSE stream are read that way, resuming with Last-Event-ID after
a restart or a dropped connection. Polling stays on either way: a dropped push is still
noticed within one poll interval.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from kanri.domain.errors import BmcError, BmcProtocolError, KanriError, NotFound
from kanri.domain.faults import Source
from kanri.domain.health import PushedEvent
from kanri.domain.model import Bmc, Machine
from kanri.domain.monitoring import pushed
from kanri.drivers.registry import Drivers
from kanri.engine.monitor import EventSink, Monitor
from kanri.store.monitor_repo import MonitorRepository, Subscription
from kanri.store.repo import Repository

log = logging.getLogger(__name__)

INTAKE_PATH = "/api/v1/intake/redfish"


class Mode(StrEnum):
    PUSH = "push"
    STREAM = "stream"
    NONE = "none"  # polling only


@dataclass(frozen=True, slots=True)
class IntakeOptions:
    push_url: str | None = None  # e.g. http://10.0.0.5:8000; None: no push subscriptions
    stream: bool = True  # read SSE streams where there is no push
    recheck: float = 300.0  # seconds between checks that a BMC's subscription still stands
    retry: float = 5.0  # first wait before reopening a dropped stream (doubles to recheck)
    tick: float = 2.0  # seconds between looks for BMCs added since
    cache: float = 5.0  # seconds the BMCs' machines are reused for incoming events


class Intake:
    def __init__(
        self,
        repo: Repository,
        store: MonitorRepository,
        drivers: Drivers,
        events: EventSink,
        monitor: Monitor,
        options: IntakeOptions | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repo = repo
        self.store = store
        self.drivers = drivers
        self.events = events
        self.monitor = monitor
        self.options = options or IntakeOptions()
        self.now = now
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # BMC URL -> its stream's reader and what ends it (set by stop(), or when the
        # BMC's last machine is removed)
        self._streams: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._due: dict[str, float] = {}  # BMC URL -> when to arrange it (again)
        self._failures: dict[str, int] = {}  # BMC URL -> failed tries in a row
        self._loop: threading.Thread | None = None
        self._bmcs: tuple[float, dict[str, tuple[Bmc, list[Machine]]]] | None = None
        self._secrets: tuple[float, dict[str, str]] | None = None  # secret -> BMC URL

    # what arrives ---------------------------------------------------------------------

    def receive(self, secret: str, body: dict[str, object]) -> int:
        """One pushed Redfish Event body; the number of observations it made.
        :class:`NotFound` for a secret no subscription has."""
        url = self._owner(secret)
        if url is None:
            raise NotFound("no subscription has that address")
        bmc, machines = self._bmc(url)
        driver = self.drivers.monitor(machines[0].driver)
        return self._take(url, driver.parse_event(bmc, body), Source.PUSH)

    def _owner(self, secret: str) -> str | None:
        """The BMC whose subscription carries ``secret``, compared in constant time. The
        secrets are read again on a miss, at most once a second (a subscription made by
        another manager on the same database; a flood of wrong guesses costs no queries)."""
        if not secret:
            return None
        clock = time.monotonic()
        for fresh in (False, True):
            with self._lock:
                cached = self._secrets
            if cached is None or (fresh and clock - cached[0] >= 1.0):
                known = {s.secret: url for url, s in self.store.subscriptions().items() if s.secret}
                cached = (clock, known)
                with self._lock:
                    self._secrets = cached
            found = None
            for candidate, url in cached[1].items():
                if hmac.compare_digest(candidate.encode(), secret.encode()):
                    found = url
            if found is not None:
                return found
        return None

    def _take(self, url: str, found: list[PushedEvent], source: Source) -> int:
        made = 0
        for event in found:
            name = self._name(url, event.system_id or "")
            if name is None:
                continue
            obs = pushed(name, event, source, self.now())
            if obs is not None:
                made += 1
                try:
                    self.events.observe(obs)
                except Exception:  # the BMC is owed an answer; the poll will catch up
                    log.exception("intake: could not record %s on %s", obs.kind, name)
            # Diagnostics (SEL lines, readings) come from a poll: ask for one now.
            self.monitor.poll_soon(name)
        return made

    def _name(self, url: str, system_id: str) -> str | None:
        """The machine of ``system_id`` on ``url``; a system not known yet reads the
        machines again (one added since), at most once per ``cache`` seconds."""
        for fresh in (False, True):
            try:
                _, machines = self._bmc(url, fresh)
            except NotFound:
                return None
            for machine in machines:
                if machine.system_id == system_id:
                    return machine.name
        return None

    def _bmc(self, url: str, fresh: bool = False) -> tuple[Bmc, list[Machine]]:
        """The BMC at ``url`` and its machines, from a listing at most ``cache`` s old."""
        clock = time.monotonic()
        with self._lock:
            cached = self._bmcs
        stale = cached is None or clock - cached[0] >= self.options.cache
        if stale or (fresh and cached is not None and clock - cached[0] >= 1.0):
            listing: dict[str, tuple[Bmc, list[Machine]]] = {}
            for machine, bmc in self.repo.machines_with_bmcs():
                listing.setdefault(bmc.url, (bmc, []))[1].append(machine)
            cached = (clock, listing)
            with self._lock:
                self._bmcs = cached
        assert cached is not None
        if url not in cached[1]:
            raise NotFound(f"no machine is registered on {url}")
        return cached[1][url]

    # subscriptions and streams --------------------------------------------------------

    def start(self) -> None:
        if self._loop is not None:
            return
        self._stop.clear()
        self._loop = threading.Thread(target=self._run, name="kanri-intake", daemon=True)
        self._loop.start()

    def stop(self) -> None:
        """Ends the loop and every stream (a stream's read is woken by the stop)."""
        self._stop.set()
        with self._lock:
            for _, ended in self._streams.values():
                ended.set()
            threads = [self._loop, *(thread for thread, _ in self._streams.values())]
        for thread in threads:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
                if thread.is_alive():
                    log.warning("intake: %s did not end within 5 s", thread.name)
        with self._lock:
            self._streams.clear()
            self._due.clear()
        self._loop = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.arrange(only_due=True)
            except Exception:
                log.exception("intake: arranging subscriptions failed")
            self._stop.wait(self.options.tick)

    def arrange(self, only_due: bool = False) -> None:
        """Give every BMC a push subscription or a stream reader (those due only, with
        ``only_due``: new BMCs, and those whose recheck or retry time has come)."""
        known = self.store.subscriptions()
        bmcs: dict[str, tuple[Bmc, str]] = {}
        machines: dict[str, list[Machine]] = {}
        for machine, bmc in self.repo.machines_with_bmcs():
            bmcs.setdefault(bmc.url, (bmc, machine.driver))
            machines.setdefault(bmc.url, []).append(machine)
        clock = time.monotonic()
        for url, (bmc, driver) in bmcs.items():
            if self._stop.is_set():
                return
            with self._lock:
                if only_due and self._due.get(url, 0.0) > clock:
                    continue
                self._due[url] = clock + self.options.recheck
                streaming = url in self._streams
            sub = known.get(url) or Subscription(url, Mode.NONE, None, "", None)
            try:
                if self.options.push_url or (self.options.stream and not streaming):
                    self.monitor.first_look(bmc, machines[url])
                if self.options.push_url:
                    self._subscribe(bmc, driver, sub)
                elif self.options.stream and not streaming:
                    self._start_stream(bmc, driver, sub)
            except Exception:  # one BMC (or a bug about it) must not keep the rest waiting
                log.exception("intake: arranging %s failed", url)
                self._failed(url)
        with self._lock:
            for url in set(self._due) - set(bmcs):
                del self._due[url]
            for url in set(self._streams) - set(bmcs):
                self._streams[url][1].set()  # no machine of it is left to watch

    def _failed(self, url: str, message: str | None = None) -> float:
        """Count one more failure of ``url``: it is tried again later, each time later
        (``retry`` doubling up to ``recheck``). The wait."""
        with self._lock:
            failures = self._failures.get(url, 0) + 1
            self._failures[url] = failures
            wait = min(self.options.retry * 2.0 ** (failures - 1), self.options.recheck)
            self._due[url] = time.monotonic() + wait
        if message is not None:
            level = logging.WARNING if failures == 1 else logging.INFO
            log.log(level, "%s (try %d; again in %.0f s)", message, failures, wait)
        return wait

    def _succeeded(self, url: str) -> None:
        with self._lock:
            self._failures.pop(url, None)

    def _subscribe(self, bmc: Bmc, driver_name: str, sub: Subscription) -> None:
        driver = self.drivers.monitor(driver_name)
        base = f"{(self.options.push_url or '').rstrip('/')}{INTAKE_PATH}/"
        try:
            theirs = driver.subscriptions(bmc)
            mine = [(uri, dest) for uri, dest, _ in theirs if dest.startswith(base)]
            if sub.mode == Mode.PUSH and (sub.uri, base + sub.secret) in mine:
                self._succeeded(bmc.url)
                return  # still there, as made
            gone = {uri for uri, _ in mine}
            if sub.mode == Mode.PUSH and sub.uri and sub.uri not in gone:
                gone.add(sub.uri)  # ours, to an address we no longer have (--push-url)
            for uri in gone:  # ours from an earlier life, with a secret now forgotten
                driver.unsubscribe(bmc, uri)
            secret = secrets.token_urlsafe(24)
            uri = driver.subscribe(bmc, base + secret, secret)
        except BmcError as exc:
            self._failed(bmc.url, f"intake: no push subscription on {bmc.url}: {exc}")
            return
        self.store.save_subscription(replace(sub, mode=Mode.PUSH, uri=uri, secret=secret))
        with self._lock:
            self._secrets = None  # read again at the next event
        self._succeeded(bmc.url)
        log.info("intake: %s pushes events to %s", bmc.url, base)

    def _start_stream(self, bmc: Bmc, driver_name: str, sub: Subscription) -> None:
        if sub.mode == Mode.PUSH and sub.uri:
            # Pushed to us before (the manager ran with --push-url): end it, and forget
            # its secret, so that address no longer lets events in.
            try:
                self.drivers.monitor(driver_name).unsubscribe(bmc, sub.uri)
            except BmcError as exc:
                log.info("intake: could not end the old subscription on %s: %s", bmc.url, exc)
            sub = replace(sub, mode=Mode.STREAM, uri=None, secret="")
            self.store.save_subscription(sub)
            with self._lock:
                self._secrets = None
        ended = threading.Event()
        thread = threading.Thread(
            target=self._read_stream,
            args=(bmc, driver_name, ended),
            name=f"kanri-stream-{bmc.url}",
            daemon=True,
        )
        with self._lock:
            if self._stop.is_set() or bmc.url in self._streams:
                return
            self._streams[bmc.url] = (thread, ended)
        thread.start()

    def _read_stream(self, bmc: Bmc, driver_name: str, ended: threading.Event) -> None:
        try:
            self._stream_until(bmc, driver_name, ended)
        finally:
            with self._lock:
                if self._streams.get(bmc.url, (None,))[0] is threading.current_thread():
                    del self._streams[bmc.url]

    def _stream_until(self, bmc: Bmc, driver_name: str, ended: threading.Event) -> None:
        """Read the stream of ``bmc`` until ``ended`` is set, reopening it after a drop
        from the last event id seen (kept in the store: a restart resumes there too)."""
        driver = self.drivers.monitor(driver_name)
        url = bmc.url
        while not ended.is_set():
            sub = self.store.subscriptions().get(url) or Subscription(
                url, Mode.STREAM, None, "", None
            )
            last = sub.last_event_id
            try:
                for event in driver.stream(bmc, last, ended):
                    self._take(url, [event], Source.STREAM)
                    self._succeeded(url)
                    if event.stream_id and event.stream_id != last:
                        last = event.stream_id
                        sub = replace(sub, mode=Mode.STREAM, last_event_id=last)
                        self.store.save_subscription(sub)
                wait = self.options.retry  # the stream ended: open it again, soon
            except BmcProtocolError as exc:
                # A clear "no stream here": polls alone watch this BMC; look again at
                # the next recheck (a firmware update may bring one).
                log.info("intake: %s has no event stream (%s); polling only", url, exc)
                self.store.save_subscription(replace(sub, mode=Mode.NONE))
                with self._lock:
                    self._due[url] = time.monotonic() + self.options.recheck
                return
            except NotFound:
                return  # its machines were removed
            except KanriError as exc:
                wait = self._failed(url, f"intake: stream of {url}: {exc}")
            except Exception:
                log.exception("intake: stream of %s failed", url)
                wait = self._failed(url)
            ended.wait(wait)
