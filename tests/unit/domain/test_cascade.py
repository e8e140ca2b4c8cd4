"""The power tree: partitions stop before their host and start after it."""

from __future__ import annotations

import pytest

from kanri.domain.cascade import Node, PlannedStep, plan
from kanri.domain.errors import Conflict, NotFound
from kanri.domain.states import PowerAction, PowerState, SystemKind

ON, OFF = PowerState.ON, PowerState.OFF
M, P = SystemKind.MACHINE, SystemKind.PARTITION


def tree(host_power: PowerState = ON) -> dict[str, Node]:
    nodes = [
        Node("blade-05", M, host_power),
        Node("app-1", P, ON if host_power is ON else OFF, "blade-05", should_run=True),
        Node("app-2", P, ON if host_power is ON else OFF, "blade-05", should_run=True),
        Node("app-3", P, OFF, "blade-05", should_run=False),
        Node("blade-01", M, ON),
    ]
    return {n.name: n for n in nodes}


def groups(steps: list[PlannedStep]) -> list[set[tuple[str, PowerAction]]]:
    out: list[set[tuple[str, PowerAction]]] = []
    for step in steps:
        while len(out) <= step.group:
            out.append(set())
        out[step.group].add((step.target, step.action))
    return out


def test_stopping_a_host_stops_its_running_partitions_first_gracefully() -> None:
    steps = plan(PowerAction.OFF, ["blade-05"], tree(), graceful_timeout=90)
    assert groups(steps) == [
        {("app-1", PowerAction.OFF), ("app-2", PowerAction.OFF)},
        {("blade-05", PowerAction.OFF)},
    ]
    assert {s.force_after for s in steps if s.target.startswith("app")} == {90}


def test_a_forced_stop_forces_the_partitions_too() -> None:
    steps = plan(PowerAction.FORCE_OFF, ["blade-05"], tree())
    assert groups(steps)[0] == {("app-1", PowerAction.FORCE_OFF), ("app-2", PowerAction.FORCE_OFF)}
    assert all(s.force_after is None for s in steps)


def test_no_cascade_refuses_to_stop_a_host_under_running_partitions() -> None:
    with pytest.raises(Conflict, match=r"running partitions \(app-1, app-2\)"):
        plan(PowerAction.OFF, ["blade-05"], tree(), cascade=False)


def test_no_cascade_stops_a_host_without_running_partitions_alone() -> None:
    quiet = {
        **tree(),
        "app-1": Node("app-1", P, OFF, "blade-05"),
        "app-2": Node("app-2", P, OFF, "blade-05"),
    }
    assert groups(plan(PowerAction.OFF, ["blade-05"], quiet, cascade=False)) == [
        {("blade-05", PowerAction.OFF)}
    ]


def test_starting_a_host_starts_the_partitions_that_should_run_after_it() -> None:
    steps = plan(PowerAction.ON, ["blade-05"], tree(OFF))
    assert groups(steps) == [
        {("blade-05", PowerAction.ON)},
        {("app-1", PowerAction.ON), ("app-2", PowerAction.ON)},
    ]
    assert groups(plan(PowerAction.ON, ["blade-05"], tree(OFF), cascade=False)) == [
        {("blade-05", PowerAction.ON)}
    ]


def test_starting_a_partition_on_an_off_host_starts_the_host_first() -> None:
    assert groups(plan(PowerAction.ON, ["app-3"], tree(OFF))) == [
        {("blade-05", PowerAction.ON)},
        {("app-3", PowerAction.ON)},
    ]
    with pytest.raises(Conflict, match="the host blade-05 of app-3 is off"):
        plan(PowerAction.ON, ["app-3"], tree(OFF), cascade=False)


def test_a_partition_on_a_running_host_is_one_step() -> None:
    assert groups(plan(PowerAction.ON, ["app-3"], tree())) == [{("app-3", PowerAction.ON)}]
    assert groups(plan(PowerAction.OFF, ["app-1"], tree())) == [{("app-1", PowerAction.OFF)}]


def test_many_targets_merge_without_doing_anything_twice() -> None:
    steps = plan(PowerAction.OFF, ["app-1", "blade-05", "blade-01", "blade-05"], tree())
    assert groups(steps) == [
        {("app-1", PowerAction.OFF), ("app-2", PowerAction.OFF)},
        {("blade-05", PowerAction.OFF), ("blade-01", PowerAction.OFF)},
    ]
    assert len(steps) == len({s.target for s in steps})


def test_restarting_a_host_brings_back_exactly_the_partitions_that_ran() -> None:
    steps = plan(PowerAction.RESTART, ["blade-05"], tree())
    assert groups(steps) == [
        {("app-1", PowerAction.OFF), ("app-2", PowerAction.OFF)},
        {("blade-05", PowerAction.RESTART)},
        {("app-1", PowerAction.ON), ("app-2", PowerAction.ON)},
    ]


def test_an_unknown_target_is_not_found() -> None:
    with pytest.raises(NotFound, match="nope"):
        plan(PowerAction.ON, ["nope"], tree())
