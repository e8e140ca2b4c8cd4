"""DeliveryService on a real SQLite store with a clock the test turns: idempotent enqueue,
attempts logged, backoff, giving up, lease takeover, suppression."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kanri.domain.deliveries import DeliveryState, RetryPolicy
from kanri.domain.errors import NotifyError, NotifyRefused
from kanri.domain.faults import FaultEvent
from kanri.domain.rules import ActionSpec, Firing
from kanri.drivers.registry import Drivers
from kanri.engine.actions import ActionContext, ActionRegistry
from kanri.engine.delivery import DeliveryOptions, DeliveryService
from kanri.store.db import Database
from kanri.store.deliveries_repo import DeliveryRepository
from kanri.store.events_repo import EventsRepository
from kanri.store.tables import EventRow

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Scripted:
    """An action that fails as told, then succeeds; records what it was run for."""

    retries = True
    idempotent = True

    def __init__(self, _: ActionContext) -> None:
        self.failures: list[Exception] = []
        self.runs: list[tuple[int, dict[str, Any]]] = []

    def run(self, event: FaultEvent, params: dict[str, Any]) -> str:
        self.runs.append((event.id, params))
        if self.failures:
            raise self.failures.pop(0)
        return f"done #{len(self.runs)}"


class Once(Scripted):
    idempotent = False


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry() -> Iterator[ActionRegistry]:
    drivers = Drivers()
    registry = ActionRegistry(ActionContext(drivers))
    registry.register("scripted", Scripted)
    registry.register("once", Once)
    yield registry
    drivers.close()


def _service(
    db: Database, registry: ActionRegistry, clock: Clock, holder: str = "m1:run1", **kw: Any
) -> DeliveryService:
    options = DeliveryOptions(
        workers=1, lease=60, retry=RetryPolicy(base=5, cap=20, max_attempts=3)
    )
    return DeliveryService(
        DeliveryRepository(db), registry, holder, options=options, clock=clock, **kw
    )


@pytest.fixture
def event(db: Database) -> FaultEvent:
    return EventsRepository(db).add_manager_event("hw.component", "critical", "blade-05", "DIMM3")


def _scripted(registry: ActionRegistry) -> Scripted:
    action = registry.get("scripted")
    assert isinstance(action, Scripted)
    return action


def test_enqueue_is_idempotent(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    service = _service(db, registry, clock)
    firing = Firing(
        "page", "new", (ActionSpec("scripted", {"n": 1}), ActionSpec("scripted", {"n": 2}))
    )
    first = service.enqueue(event, firing)
    assert service.enqueue(event, firing) == first
    assert len(set(first)) == 2
    other = service.enqueue(event, Firing("page", "escalated:critical", firing.actions))
    assert not set(other) & set(first)  # a new trigger is a new firing
    assert [d["state"] for d in service.for_event(event.id)] == ["pending"] * 4


def test_a_delivery_runs_once_and_logs_its_attempt(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    service = _service(db, registry, clock)
    [did] = service.enqueue(event, Firing("page", "new", (ActionSpec("scripted", {"to": "x"}),)))
    assert service.run_once() is True
    assert service.run_once() is False
    assert _scripted(registry).runs == [(event.id, {"to": "x"})]
    shown = service.get(did)
    assert shown["state"] == "succeeded"
    assert shown["attempts"] == 1
    assert [(e["attempt"], e["outcome"], e["receipt"]) for e in shown["log"]] == [
        (1, "succeeded", "done #1")
    ]


def test_failures_back_off_then_give_up_with_a_manager_event(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    service = _service(db, registry, clock)
    _scripted(registry).failures = [NotifyError("peer said 451")] * 3
    [did] = service.enqueue(event, Firing("page", "new", (ActionSpec("scripted"),)))

    assert service.run_once() is True
    shown = service.get(did)
    assert shown["state"] == "retrying"
    assert shown["next_at"] == (T0 + timedelta(seconds=5)).isoformat()
    clock.advance(4.9)
    assert service.run_once() is False  # not yet
    clock.advance(0.1)
    assert service.run_once() is True
    assert service.get(did)["next_at"] == (clock.now + timedelta(seconds=10)).isoformat()
    clock.advance(10)
    assert service.run_once() is True

    shown = service.get(did)
    assert shown["state"] == "gave_up"
    assert shown["attempts"] == 3
    assert [e["outcome"] for e in shown["log"]] == ["failed"] * 3
    assert shown["last_error"] == "peer said 451"
    with db.session() as session:
        said = session.scalars(select(EventRow).where(EventRow.kind == "delivery.gave_up")).one()
        assert said.target == "blade-05"
        assert said.details == {
            "delivery": did,
            "event": event.id,
            "rule": "page",
            "action": "scripted",
        }
        assert "gave up after 3 attempt(s): peer said 451" in said.message


def test_a_refusal_is_not_retried(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    service = _service(db, registry, clock)
    _scripted(registry).failures = [NotifyRefused("550 no such user")]
    [did] = service.enqueue(event, Firing("page", "new", (ActionSpec("scripted"),)))
    service.run_once()
    assert service.get(did)["state"] == "gave_up"
    assert len(_scripted(registry).runs) == 1


def test_an_unknown_kind_gives_up_naming_the_known_ones(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    service = _service(db, registry, clock)
    [did] = service.enqueue(event, Firing("page", "new", (ActionSpec("pager"),)))
    service.run_once()
    shown = service.get(did)
    assert shown["state"] == "gave_up"
    assert "unknown action kind 'pager'; known: " in shown["last_error"]
    assert "email" in shown["last_error"]
    assert "scripted" in shown["last_error"]


def test_a_dead_manager_s_delivery_is_taken_over_when_its_lease_expires(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    repo = DeliveryRepository(db)
    [did] = repo.enqueue(event.id, "page", "new", [ActionSpec("scripted")], T0)
    dead = repo.claim("m0:gone", 60, T0)  # claimed, then the manager died
    assert dead is not None
    assert dead.id == did

    service = _service(db, registry, clock)
    clock.advance(59)
    assert service.run_once() is False  # the lease still holds
    clock.advance(2)
    assert service.run_once() is True

    shown = service.get(did)
    assert shown["state"] == "succeeded"
    assert shown["attempts"] == 2
    assert [(e["attempt"], e["outcome"]) for e in shown["log"]] == [
        (1, "interrupted"),
        (2, "succeeded"),
    ]
    assert "m0:gone" in shown["log"][0]["error"]
    assert len(_scripted(registry).runs) == 1


def test_a_cut_short_action_that_is_not_safe_to_repeat_is_not_repeated(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    repo = DeliveryRepository(db)
    [did] = repo.enqueue(event.id, "page", "new", [ActionSpec("once")], T0)
    assert repo.claim("m0:gone", 60, T0) is not None
    clock.advance(61)
    service = _service(db, registry, clock)
    assert service.run_once() is True
    shown = service.get(did)
    assert shown["state"] == "gave_up"
    assert "not repeated" in shown["last_error"]
    assert "may already have acted" in shown["last_error"]
    once = registry.get("once")
    assert isinstance(once, Once)
    assert once.runs == []


def test_the_next_run_on_the_same_data_directory_takes_over_at_once(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    repo = DeliveryRepository(db)
    [did] = repo.enqueue(event.id, "page", "new", [ActionSpec("scripted")], T0)
    assert repo.claim("dir1:run1", 60, T0) is not None
    stranger = _service(db, registry, clock, holder="dir2:run1", predecessor_prefix="dir2:")
    assert stranger.run_once() is False  # another manager's live lease
    successor = _service(db, registry, clock, holder="dir1:run2", predecessor_prefix="dir1:")
    assert successor.run_once() is True
    assert successor.get(did)["state"] == "succeeded"


def test_a_late_finish_by_a_taken_over_holder_changes_nothing(
    db: Database, event: FaultEvent
) -> None:
    repo = DeliveryRepository(db)
    [did] = repo.enqueue(event.id, "page", "new", [ActionSpec("scripted")], T0)
    assert repo.claim("slow:1", 60, T0) is not None
    later = T0 + timedelta(seconds=61)
    assert repo.claim("fast:1", 60, later) is not None
    assert (
        repo.finish(did, "slow:1", DeliveryState.SUCCEEDED, {"outcome": "succeeded"}, later)
        is False
    )
    assert repo.get(did).holder == "fast:1"


def test_renewal_keeps_a_long_attempt_its_own(db: Database, event: FaultEvent) -> None:
    repo = DeliveryRepository(db)
    [did] = repo.enqueue(event.id, "page", "new", [ActionSpec("scripted")], T0)
    assert repo.claim("m1:1", 60, T0) is not None
    repo.renew("m1:1", [did], 60, T0 + timedelta(seconds=50))
    assert repo.claim("m2:1", 60, T0 + timedelta(seconds=70)) is None


def test_a_target_put_in_maintenance_after_firing_suppresses_the_action(
    db: Database, registry: ActionRegistry, clock: Clock, event: FaultEvent
) -> None:
    service = _service(
        db, registry, clock, suppressed=lambda e: f"{e.target} is in maintenance: swap DIMM"
    )
    [did] = service.enqueue(event, Firing("page", "new", (ActionSpec("scripted"),)))
    service.run_once()
    shown = service.get(did)
    assert shown["state"] == "suppressed"
    assert shown["log"][0]["receipt"] == "blade-05 is in maintenance: swap DIMM"
    assert _scripted(registry).runs == []


def test_the_worker_threads_carry_out_what_is_enqueued(
    db: Database, registry: ActionRegistry, event: FaultEvent
) -> None:
    from tests.waiting import wait_for

    service = DeliveryService(
        DeliveryRepository(db), registry, "m1:1", options=DeliveryOptions(workers=2, poll=5)
    )
    service.start()
    try:
        ids = service.enqueue(event, Firing("page", "new", (ActionSpec("scripted"),) * 3))
        # enqueue wakes the workers: no need to wait out the 5 s poll
        wait_for(lambda: all(service.get(i)["state"] == "succeeded" for i in ids), timeout=4)
    finally:
        service.stop()
    assert len(_scripted(registry).runs) == 3


def test_for_an_unknown_event_is_not_found(
    db: Database, registry: ActionRegistry, clock: Clock
) -> None:
    from kanri.domain.errors import NotFound

    with pytest.raises(NotFound, match="no event 999"):
        _service(db, registry, clock).for_event(999)
