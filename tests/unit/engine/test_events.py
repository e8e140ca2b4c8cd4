"""EventService on SQLite: what an observation affects, listeners after the commit, acks
and the stop that ends live streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kanri.domain.errors import Conflict
from kanri.domain.faults import Change, EventState, FaultEvent, Observation, Severity, Source
from kanri.domain.model import Bmc, Machine, SystemInventory
from kanri.domain.states import PowerState, SystemKind
from kanri.engine.events import EventService, running_on
from kanri.store import migrate
from kanri.store.db import Database
from kanri.store.repo import Repository
from kanri.store.secrets import Secrets

NOW = datetime(2026, 3, 1, tzinfo=UTC)
BMC = "https://10.0.0.9"


def machine(
    name: str, system: str, host: str | None = None, power: PowerState = PowerState.ON,
    bmc: str = BMC,
) -> Machine:  # fmt: skip
    kind = SystemKind.PARTITION if host else SystemKind.MACHINE
    inventory = SystemInventory(system_id=system, kind=kind, host_system_id=host)
    return Machine(name, bmc, system, "fake", inventory, power=power)


def test_running_on_lists_the_hosts_running_partitions() -> None:
    machines = [
        machine("hv", "Blade5"),
        machine("app-1", "P1", host="Blade5"),
        machine("app-2", "P2", host="Blade5", power=PowerState.OFF),  # not running
        machine("app-0", "P0", host="Blade5"),
        machine("other", "P3", host="Blade6"),
        machine("far", "P4", host="Blade5", bmc="https://10.0.0.10"),  # another BMC
    ]
    assert running_on("hv", machines) == ["app-0", "app-1"]
    assert running_on("app-1", machines) == []  # a partition hosts nothing (yet)
    assert running_on("gone", machines) == []


@pytest.fixture
def service(tmp_path: Path) -> Iterator[EventService]:
    url = f"sqlite:///{tmp_path / 'kanri.db'}"
    migrate.upgrade(url)
    db = Database(url)
    repo = Repository(db, Secrets(tmp_path / "secret.key"))
    found = {
        "hv": SystemInventory(system_id="Blade5"),
        "app-1": SystemInventory(
            system_id="P1", kind=SystemKind.PARTITION, host_system_id="Blade5"
        ),
    }
    repo.add_machines(Bmc(BMC, "admin", "pw"), "fake", found)
    repo.record_power("app-1", PowerState.ON, reachable=True)
    yield EventService(repo.events, repo)
    db.dispose()


def dimm(clears: bool = False, severity: Severity = Severity.CRITICAL) -> Observation:
    return Observation("hv", "hw.component", severity, "DIMM3 critical", Source.POLL, NOW,
                       component="DIMM3", clears=clears)  # fmt: skip


def test_observe_stores_then_tells_listeners(service: EventService) -> None:
    heard: list[tuple[int, Change, EventState]] = []

    def listener(event: FaultEvent, change: Change) -> None:
        stored = service.get(event.id)  # committed before the listener is called
        heard.append((stored.id, change, stored.state))

    def broken(event: FaultEvent, change: Change) -> None:
        raise RuntimeError("a listener's bug")

    service.subscribe(broken)
    unsubscribe = service.subscribe(listener)
    made = service.observe(dimm())
    assert made is not None
    event, change = made
    assert change is Change.NEW
    assert event.affected == ("app-1",)
    service.observe(dimm())
    service.observe(dimm(clears=True, severity=Severity.INFO))
    assert service.observe(dimm(clears=True)) is None  # nothing open any more
    assert heard == [
        (event.id, Change.NEW, EventState.OPEN),
        (event.id, Change.GREW, EventState.OPEN),
        (event.id, Change.CLEARED, EventState.CLEARED),
    ]
    unsubscribe()
    service.observe(dimm())
    assert len(heard) == 3


def test_manager_events_and_acks_reach_watchers(service: EventService) -> None:
    seen: list[tuple[str, str]] = []
    changes: list[Change] = []
    stopped: list[bool] = []
    service.subscribe(lambda e, c: changes.append(c))
    unwatch = service.watch(lambda e, c: seen.append((e.kind, c)), lambda: stopped.append(True))
    event_id = service.machines.add_event("power.drift", "warning", "hv", "found on")
    service.ack(event_id, "alice@host:1")
    with pytest.raises(Conflict):
        service.ack(event_id, "alice@host:1")
    assert seen == [("power.drift", "new"), ("power.drift", "acknowledged")]
    assert changes == [Change.NEW]  # rules hear of changes, not of acknowledgements
    assert service.list(state=EventState.ACKNOWLEDGED)[0].acked_by == "alice@host:1"
    service.stop()
    assert stopped == [True]
    unwatch()
    late: list[bool] = []
    service.watch(lambda e, c: None, lambda: late.append(True))
    assert late == [True]  # a stream opened after the stop ends at once
