"""DeliveryService: the actions rules fire, carried out durably (docs/notifications.md).

``enqueue`` stores one delivery per action of a firing (idempotent). Worker threads claim
due deliveries with a lease in the database, carry them out, log each attempt, and retry
failures with exponential backoff until they give up. A manager killed mid-delivery
leaves its delivery "running" under a lease; another manager takes it over when the lease
expires, and the next run on the same data directory at once. An attempt so cut short is
repeated for actions that are safe to repeat (notifications, power off) and not for the
others (reboot, command), whose record then says that it may have acted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kanri.domain.deliveries import (
    Delivery,
    DeliveryState,
    Outcome,
    RetryPolicy,
    after_failure,
    shown_params,
)
from kanri.domain.errors import KanriError, NotFound, NotifyError
from kanri.domain.faults import FaultEvent
from kanri.domain.rules import Firing
from kanri.engine.actions import Action, ActionRegistry
from kanri.store.deliveries_repo import DeliveryRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Suppressor = Callable[[FaultEvent], str | None]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    workers: int = 4  # deliveries carried out at once by one manager
    poll: float = 1.0  # seconds between looks for due deliveries when there is no news
    lease: float = 60.0  # seconds a manager's hold on a delivery lasts unrenewed
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class DeliveryService:
    def __init__(
        self,
        repo: DeliveryRepository,
        actions: ActionRegistry,
        holder: str,
        predecessor_prefix: str | None = None,
        options: DeliveryOptions | None = None,
        clock: Clock = system_clock,
        suppressed: Suppressor = lambda event: None,
    ) -> None:
        self.repo = repo
        self.actions = actions
        self.holder = holder
        self.predecessor_prefix = predecessor_prefix
        self.options = options or DeliveryOptions()
        self.clock = clock
        self.suppressed = suppressed
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()

    # what the rest of kanri calls ------------------------------------------------------

    def enqueue(self, event: FaultEvent, firing: Firing) -> list[int]:
        """One delivery per action of ``firing``, in order; the same ids when repeated."""
        ids = self.repo.enqueue(event.id, firing.rule, firing.trigger, firing.actions, self.clock())
        self._wake.set()
        return ids

    def for_event(self, event_id: int) -> list[dict[str, Any]]:
        return [document(d) for d in self.repo.for_event(event_id)]

    def get(self, delivery_id: int) -> dict[str, Any]:
        return document(self.repo.get(delivery_id))

    # life -------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        for n in range(self.options.workers):
            thread = threading.Thread(target=self._work, name=f"kanri-delivery-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._beat, name="kanri-delivery-lease", daemon=True)
        beat.start()
        self._threads.append(beat)

    def stop(self) -> None:
        """Stop claiming. An attempt in flight ends on its own timeout; one still going when
        the process exits is taken over by the next manager."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + 5  # in all: a hung command must not hold the stop
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database may be away for a moment: try again later
                log.exception("delivery worker failed")
                busy = False
            if not busy:
                self._wake.wait(self.options.poll)
                self._wake.clear()

    def _beat(self) -> None:
        while not self._stopping.wait(self.options.lease / 3):
            with self._lock:
                ids = list(self._in_flight)
            try:
                self.repo.renew(self.holder, ids, self.options.lease, self.clock())
            except Exception:
                log.exception("renewing delivery leases failed")

    # one delivery -----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim one due delivery and carry it out; False when none is due."""
        delivery = self.repo.claim(
            self.holder, self.options.lease, self.clock(), self.predecessor_prefix
        )
        if delivery is None:
            return False
        with self._lock:
            self._in_flight.add(delivery.id)
        try:
            self._carry_out(delivery)
        finally:
            with self._lock:
                self._in_flight.discard(delivery.id)
        return True

    def _carry_out(self, delivery: Delivery) -> None:
        started = self.clock()
        try:
            event = self.repo.event(delivery.event_id)
        except NotFound:  # the event's row is gone; its deliveries go with it (cascade)
            return
        try:
            action = self.actions.get(delivery.kind)
        except KanriError as exc:
            self._failed(delivery, event, started, str(exc), retry=False)
            return
        if delivery.previous_holder is not None and not action.idempotent:
            self._failed(
                delivery,
                event,
                started,
                f"not repeated: the attempt was cut short by a manager's stop and {delivery.kind}"
                " may already have acted (check before running it by hand)",
                retry=False,
            )
            return
        reason = self.suppressed(event)
        if reason:
            self._end(delivery, DeliveryState.SUPPRESSED, started, Outcome.SUPPRESSED, reason)
            return
        self._attempt(delivery, event, action, started)

    def _attempt(
        self, delivery: Delivery, event: FaultEvent, action: Action, started: datetime
    ) -> None:
        try:
            done = self.actions.carry_out(action, event, delivery)
        except NotifyError as exc:
            self._failed(delivery, event, started, str(exc), exc.retry and _retries(action))
            return
        except KanriError as exc:
            self._failed(delivery, event, started, str(exc), _retries(action))
            return
        except Exception as exc:  # an action's bug: recorded, and tried again like a failure
            log.exception("delivery %s (%s) failed", delivery.id, delivery.kind)
            self._failed(delivery, event, started, f"{type(exc).__name__}: {exc}", _retries(action))
            return
        self._end(
            delivery, DeliveryState.SUCCEEDED, started, Outcome.SUCCEEDED, done.receipt, done.job_id
        )
        log.info(
            "delivery %s (%s, event %s): %s", delivery.id, delivery.kind, event.id, done.receipt
        )

    def _failed(
        self, delivery: Delivery, event: FaultEvent, started: datetime, error: str, retry: bool
    ) -> None:
        now = self.clock()
        state, next_at = after_failure(delivery.attempts, retry, self.options.retry, now)
        entry = _entry(delivery, started, now, Outcome.FAILED)
        entry["error"] = error
        if next_at is not None:
            entry["retry_at"] = next_at.isoformat()
        said = None
        if state is DeliveryState.GAVE_UP:
            said = (
                "delivery.gave_up",
                "warning",
                event.target,
                f"{delivery.kind} of rule {delivery.rule} for event {event.id} gave up after "
                f"{delivery.attempts} attempt(s): {error}",
            )
            log.warning("delivery %s gave up: %s", delivery.id, error)
        else:
            log.info("delivery %s failed (retry at %s): %s", delivery.id, next_at, error)
        if not self.repo.finish(delivery.id, self.holder, state, entry, now, next_at, event=said):
            log.warning(
                "delivery %s was taken over before attempt %d ended", delivery.id, delivery.attempts
            )

    def _end(
        self,
        delivery: Delivery,
        state: DeliveryState,
        started: datetime,
        outcome: Outcome,
        text: str,
        job_id: str | None = None,
    ) -> None:
        now = self.clock()
        entry = _entry(delivery, started, now, outcome)
        entry["receipt"] = text
        if job_id is not None:
            entry["job_id"] = job_id
        if not self.repo.finish(delivery.id, self.holder, state, entry, now, job_id=job_id):
            log.warning(
                "delivery %s was taken over before attempt %d ended", delivery.id, delivery.attempts
            )


def _retries(action: Action) -> bool:
    return bool(getattr(action, "retries", True))


def _entry(
    delivery: Delivery, started: datetime, now: datetime, outcome: Outcome
) -> dict[str, Any]:
    return {
        "attempt": delivery.attempts,
        "started": started.isoformat(),
        "at": now.isoformat(),
        "outcome": outcome.value,
        "holder": delivery.holder,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def document(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the API shows it (secrets in its parameters hidden)."""
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "rule": delivery.rule,
        "action_index": delivery.action_index,
        "trigger": delivery.trigger,
        "kind": delivery.kind,
        "params": shown_params(delivery.params),
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "next_at": _iso(delivery.next_at) if delivery.state is DeliveryState.RETRYING else None,
        "holder": delivery.holder,
        "last_error": delivery.last_error,
        "job_id": delivery.job_id,
        "log": list(delivery.log),
        "created_at": _iso(delivery.created_at),
        "updated_at": _iso(delivery.updated_at),
    }
