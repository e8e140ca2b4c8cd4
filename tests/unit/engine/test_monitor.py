"""The monitor over the fake monitor driver, one round at a time (``poll_bmc``): what a
poll changed becomes events, nothing twice, and its memory outlives the Monitor."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kanri.domain.faults import EventState, FaultEvent, Source
from kanri.domain.model import Bmc, Machine
from kanri.domain.states import Health
from kanri.drivers.fake.monitor import FakeMonitorWorld, monitor_world_of
from kanri.engine.manager import Manager
from kanri.engine.monitor import Monitor, RoundResult
from kanri.store.monitor_repo import MonitorRepository

BMC = Bmc("fake://encl?systems=3", "admin", "secret")


@pytest.fixture
def parts(manager: Manager) -> FakeMonitorWorld:
    manager.machines.add("c", BMC, driver="fake")
    return monitor_world_of(manager.drivers.context)


def one_round(manager: Manager, monitor: Monitor | None = None) -> RoundResult:
    listing = manager.repo.machines_with_bmcs()
    bmc = listing[0][1]
    machines: list[Machine] = [m for m, _ in listing]
    return (monitor or manager.monitor).poll_bmc(bmc, machines)


def hw_events(manager: Manager) -> list[FaultEvent]:
    return manager.events.list(kind_prefix="hw.")


def sel_messages(event: FaultEvent) -> list[str]:
    lines: list[dict[str, Any]] = event.diagnostics.get("sel", [])
    return [line["message"] for line in lines]


def test_a_part_going_bad_is_one_event_with_its_sel_line(
    manager: Manager, parts: FakeMonitorWorld
) -> None:
    first = one_round(manager)
    assert (first.polled, first.observations) == (3, [])  # a first look raises nothing
    parts.fail_component(BMC.url, "2", "DIMM3")
    parts.add_sel(BMC.url, "1", "The chassis was opened.")  # informational: no event

    found = one_round(manager)
    [event] = hw_events(manager)
    assert (event.kind, event.target, event.component) == ("hw.component", "c-2", "DIMM3")
    assert (event.severity.value, event.state, event.count) == ("critical", EventState.OPEN, 1)
    assert sel_messages(event) == ["The health of resource 'DIMM3' has changed to Critical."]
    assert len(found.observations) == 1

    assert one_round(manager).observations == []  # nothing new: nothing observed
    assert one_round(manager).observations == []
    [again] = hw_events(manager)
    assert (again.id, again.count) == (event.id, 1)


def test_a_part_back_to_ok_clears_its_event(manager: Manager, parts: FakeMonitorWorld) -> None:
    one_round(manager)
    parts.fail_component(BMC.url, "3", "Fan2", Health.WARNING)
    one_round(manager)
    parts.clear_component(BMC.url, "3", "Fan2")
    one_round(manager)
    [event] = hw_events(manager)
    assert (event.component, event.state) == ("Fan2", EventState.CLEARED)
    assert event.cleared_at is not None
    assert one_round(manager).observations == []


def test_new_sel_lines_grow_the_open_event_of_their_part(
    manager: Manager, parts: FakeMonitorWorld
) -> None:
    one_round(manager)
    parts.fail_component(BMC.url, "1", "CPU1", Health.WARNING)
    one_round(manager)
    parts.fail_component(BMC.url, "1", "CPU1", Health.CRITICAL)  # worse: one more line
    one_round(manager)
    [event] = hw_events(manager)
    assert (event.count, event.severity.value) == (2, "critical")
    assert len(sel_messages(event)) == 2


def test_the_memory_outlives_the_monitor(manager: Manager, parts: FakeMonitorWorld) -> None:
    one_round(manager)
    parts.fail_component(BMC.url, "2", "PSU1")
    one_round(manager)
    [event] = hw_events(manager)

    # Another Monitor on the same database (a restarted manager): no old line, no old
    # change raised again; a new line is.
    reborn = Monitor(
        manager.repo,
        MonitorRepository(manager.db),
        manager.drivers,
        manager.monitor_calls,
        manager.events,
    )
    assert one_round(manager, reborn).observations == []
    assert [(e.id, e.count) for e in hw_events(manager)] == [(event.id, 1)]
    parts.add_sel(BMC.url, "2", "Voltage low on PSU1", Health.WARNING, component="PSU1")
    assert len(one_round(manager, reborn).observations) == 1
    [grown] = hw_events(manager)
    assert (grown.id, grown.count) == (event.id, 2)
    assert sel_messages(grown)[-1] == "Voltage low on PSU1"


def test_a_loose_warning_line_is_an_event_of_its_sensor(
    manager: Manager, parts: FakeMonitorWorld
) -> None:
    one_round(manager)
    parts.add_sel(BMC.url, "1", "Intrusion", Health.WARNING, component="Chassis")
    one_round(manager)
    [event] = hw_events(manager)
    assert (event.kind, event.component, event.source) == ("hw.sel", "Chassis", Source.POLL)


def test_an_unreachable_bmc_ends_its_round_without_events(
    manager: Manager, parts: FakeMonitorWorld
) -> None:
    one_round(manager)
    parts.world.bmcs[BMC.url].reachable = False
    result = one_round(manager)
    assert (result.failed, result.polled) == (True, 0)
    assert hw_events(manager) == []


def test_a_removed_machine_is_let_go(manager: Manager, parts: FakeMonitorWorld) -> None:
    listing = manager.repo.machines_with_bmcs()
    one_round(manager)
    manager.machines.remove("c-3")
    parts.fail_component(BMC.url, "3", "DIMM1")
    bmc = listing[0][1]
    result = manager.monitor.poll_bmc(bmc, [m for m, _ in listing])  # an old listing
    assert result.polled == 3  # the BMC still answers for it; its memory is not stored
    assert "c-3" not in MonitorRepository(manager.db).memories()


def test_a_machine_s_events_are_told_before_its_round_ends(
    manager: Manager, parts: FakeMonitorWorld
) -> None:
    """A round of a big enclosure takes seconds: a fault found on its first machine must
    not wait for the last one (bench/detection.py measured up to a round's length more)."""
    one_round(manager)
    parts.fail_component(BMC.url, "1", "DIMM3")
    monitor = manager.monitor
    poll = monitor._poll
    seen_before_last: list[bool] = []

    def slow_last(bmc: Bmc, machine: Machine) -> Any:
        if machine.name == "c-3":  # the last of the round waits for c-1's event, briefly
            deadline = time.monotonic() + 2.0
            while not hw_events(manager) and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_before_last.append(bool(hw_events(manager)))
        return poll(bmc, machine)

    monitor._poll = slow_last  # type: ignore[method-assign]
    found = one_round(manager)
    assert seen_before_last == [True]
    assert len(found.observations) == 1
    [event] = hw_events(manager)
    assert (event.target, event.component) == ("c-1", "DIMM3")
