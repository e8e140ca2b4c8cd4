"""EventService: observations become stored fault events; who listens hears of them after
the commit (rules and actions through ``subscribe``, the API's live stream through
``watch``). See docs/events.md."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from kanri.domain import notify
from kanri.domain.faults import Change, FaultEvent, Observation
from kanri.domain.model import Machine
from kanri.domain.states import PowerState, SystemKind
from kanri.store.events_repo import EventsRepository
from kanri.store.repo import Repository

log = logging.getLogger(__name__)

Listener = Callable[[FaultEvent, Change], None]
# What a watcher (the live stream) hears: a Change's value, or "acknowledged".
FeedListener = Callable[[FaultEvent, str], None]
ACKNOWLEDGED = "acknowledged"


def running_on(target: str, machines: Sequence[Machine]) -> list[str]:
    """What runs on ``target`` and so suffers with it: the partitions that the machine
    hosts (same BMC, their host system is its system) and that are on. Servers placed on
    machines (issue 5) are added here."""
    host = next((m for m in machines if m.name == target), None)
    if host is None or host.inventory.kind is SystemKind.PARTITION:
        return []
    return sorted(
        m.name
        for m in machines
        if m.inventory.kind is SystemKind.PARTITION
        and m.bmc_url == host.bmc_url
        and m.inventory.host_system_id == host.system_id
        and m.name != host.name
        and m.power is PowerState.ON
    )


class _Watcher:
    def __init__(self, on_change: FeedListener, on_stop: Callable[[], None]) -> None:
        self.on_change = on_change
        self.on_stop = on_stop


class EventService:
    def __init__(self, repo: EventsRepository, machines: Repository) -> None:
        self.repo = repo
        self.machines = machines
        self._listeners: list[Listener] = []
        self._watchers: list[_Watcher] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        # Events kanri records itself (Repository.add_event: drift, unreachable BMCs,
        # commands) are new events like any other.
        self._unhook = repo.on_manager_event(lambda event: self._publish(event, Change.NEW))
        # Reading is the repository's own: one event (NotFound when there is none) and the
        # filtered list (newest first; with ``after_id``, the events after it, oldest first).
        self.get = repo.get
        self.list = repo.list

    # recording ------------------------------------------------------------------------

    def observe(self, obs: Observation) -> tuple[FaultEvent, Change] | None:
        """Store ``obs`` (grow, clear or open an event) and tell the listeners; None when a
        clearing observation found nothing open."""
        result = self.repo.record(obs, self.affected(obs.target))
        if result is not None:
            self._publish(*result)
        return result

    def affected(self, target: str) -> list[str]:
        return running_on(target, self.machines.list_machines())

    # listening ------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event, change)`` after each change is committed, on the thread
        that made it. Its exceptions are logged, never raised into that thread."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def watch(self, on_change: FeedListener, on_stop: Callable[[], None]) -> Callable[[], None]:
        """Like ``subscribe``, with acknowledgements too (change "acknowledged"), and
        ``on_stop`` when the manager stops (at once if it has): for live streams."""
        watcher = _Watcher(on_change, on_stop)
        with self._lock:
            self._watchers.append(watcher)
        if self._stopped.is_set():
            on_stop()

        def unwatch() -> None:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

        return unwatch

    def _publish(self, event: FaultEvent, change: Change) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, change)
            except Exception:
                log.exception("event listener %r failed on event %d", listener, event.id)
        self._tell_watchers(event, change.value)

    def _tell_watchers(self, event: FaultEvent, change: str) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            try:
                watcher.on_change(event, change)
            except Exception:
                log.exception("event watcher failed on event %d", event.id)

    def stop(self) -> None:
        """End the live streams (their watchers' ``on_stop``)."""
        self._stopped.set()
        with self._lock:
            watchers = list(self._watchers)
        for watcher in watchers:
            try:
                watcher.on_stop()
            except Exception:
                log.exception("event watcher failed to stop")

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    # reading and acknowledging --------------------------------------------------------

    def ack(self, event_id: int, by: str) -> FaultEvent:
        event = self.repo.ack(event_id, by[:63])
        self._tell_watchers(event, ACKNOWLEDGED)
        return event


# What the API and the live stream show of the document rules' actions get (domain.notify):
# "at" for its "first_at", no "key", diagnostics only when asked.
_SHOWN = (
    "last_at", "kind", "severity", "state", "source", "target", "component", "message",
    "count", "affected", "details", "acked_by", "acked_at", "cleared_at",
)  # fmt: skip


def event_document(event: FaultEvent, *, diagnostics: bool) -> dict[str, Any]:
    """An event as the API and the live stream show it."""
    full = notify.event_document(event)
    doc: dict[str, Any] = {"id": full["id"], "at": full["first_at"]}
    doc.update((name, full[name]) for name in _SHOWN)
    if diagnostics:
        doc["diagnostics"] = full["diagnostics"]
    return doc
