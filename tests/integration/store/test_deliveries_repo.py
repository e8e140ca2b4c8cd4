"""Deliveries on SQLite and PostgreSQL: workers of two managers racing for the same due
deliveries run each exactly once; a manager that stops leaves its work to the next one."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from kanri.domain.deliveries import DeliveryState
from kanri.domain.faults import FaultEvent
from kanri.domain.rules import ActionSpec, Firing
from kanri.drivers.registry import Drivers
from kanri.engine.actions import ActionContext, ActionRegistry
from kanri.engine.delivery import DeliveryOptions, DeliveryService
from kanri.store.db import Database
from kanri.store.deliveries_repo import DeliveryRepository
from kanri.store.events_repo import EventsRepository
from tests.waiting import wait_for


class Counting:
    """Counts its runs per delivery, across every manager of the test."""

    retries = True
    idempotent = True
    runs: ClassVar[Counter[int]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, _: ActionContext) -> None:
        pass

    def deliver(self, event: FaultEvent, params: dict[str, Any], delivery: Any) -> str:
        with self.lock:
            self.runs[delivery.id] += 1
        return "counted"

    def run(self, event: FaultEvent, params: dict[str, Any]) -> str:
        raise AssertionError("deliver is used")


def _registry(drivers: Drivers) -> ActionRegistry:
    registry = ActionRegistry(ActionContext(drivers))
    registry.register("count", Counting)
    return registry


def test_two_managers_never_run_one_delivery_twice(db: Database) -> None:
    Counting.runs.clear()
    event = EventsRepository(db).add_manager_event("hw.sel", "warning", "blade-01", "ECC")
    drivers = Drivers()
    managers = [
        DeliveryService(
            DeliveryRepository(db),
            _registry(drivers),
            f"m{n}:run",
            options=DeliveryOptions(workers=3, poll=0.05),
        )
        for n in range(2)
    ]
    ids: list[int] = []
    for rule in range(10):
        firing = Firing(f"rule-{rule}", "new", (ActionSpec("count"),) * 4)
        ids += managers[rule % 2].enqueue(event, firing)
    for manager in managers:
        manager.start()
    try:
        repo = DeliveryRepository(db)
        wait_for(
            lambda: all(d.state is DeliveryState.SUCCEEDED for d in repo.for_event(event.id)),
            timeout=30,
        )
    finally:
        for manager in managers:
            manager.stop()
        drivers.close()
    assert len(ids) == 40
    assert Counting.runs == Counter(dict.fromkeys(ids, 1))
    holders = {d.log[0]["holder"] for d in DeliveryRepository(db).for_event(event.id)}
    assert holders <= {"m0:run", "m1:run"}


def test_claims_are_exclusive_under_contention(db: Database) -> None:
    """Many threads claiming at once, straight on the repository: each row once."""
    event = EventsRepository(db).add_manager_event("hw.sel", "warning", "blade-01", "ECC")
    repo = DeliveryRepository(db)
    now = datetime.now(UTC)
    ids = set(repo.enqueue(event.id, "r", "new", [ActionSpec("count")] * 12, now))
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while (got := repo.claim(f"t{n}", 60, now)) is not None:
            with lock:
                claimed.append(got.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(claimed) == sorted(ids)


def test_a_restarted_manager_resumes_what_was_pending_and_running(db: Database) -> None:
    Counting.runs.clear()
    event = EventsRepository(db).add_manager_event("hw.sel", "warning", "blade-01", "ECC")
    repo = DeliveryRepository(db)
    drivers = Drivers()
    first = DeliveryService(repo, _registry(drivers), "dir:run1", "dir:")
    ids = first.enqueue(event, Firing("r", "new", (ActionSpec("count"),) * 3))
    # The first run claimed one and died before finishing; the other two never started.
    assert repo.claim("dir:run1", 60, datetime.now(UTC)) is not None

    second = DeliveryService(
        DeliveryRepository(db),
        _registry(drivers),
        "dir:run2",
        "dir:",
        DeliveryOptions(workers=1, poll=0.05),
    )
    second.start()
    try:
        wait_for(
            lambda: all(d.state is DeliveryState.SUCCEEDED for d in repo.for_event(event.id)),
            timeout=15,
        )
    finally:
        second.stop()
        drivers.close()
    assert Counting.runs == Counter(dict.fromkeys(ids, 1))
    interrupted = [d for d in repo.for_event(event.id) if d.attempts == 2]
    assert len(interrupted) == 1
    assert [e["outcome"] for e in interrupted[0].log] == ["interrupted", "succeeded"]


def test_enqueue_is_idempotent_across_managers(db: Database) -> None:
    event = EventsRepository(db).add_manager_event("hw.sel", "warning", "blade-01", "ECC")
    now = datetime.now(UTC)
    results: list[list[int]] = []
    lock = threading.Lock()

    def enqueue() -> None:
        got = DeliveryRepository(db).enqueue(event.id, "r", "new", [ActionSpec("count")] * 3, now)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 4
    assert all(r == results[0] for r in results)
    assert len(DeliveryRepository(db).for_event(event.id)) == 3
    later = now + timedelta(seconds=1)
    assert DeliveryRepository(db).claim("x", 60, later) is not None
