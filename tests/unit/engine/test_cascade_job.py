"""The ``power`` job as hierarchical power, on the fake driver: a host (rack-1) with two
partitions (rack-2, rack-3) behind the same BMC."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.jobs import Job, JobState, Step
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.fake import FakeBmc
from kanri.drivers.fake import driver as fake_driver
from kanri.engine import cascade_job
from kanri.engine.manager import Manager
from tests.unit.engine.fake_manager import (
    ended,
    manager_of_a_host_with_partitions,
    stopped_after,
)

BMC = Bmc("fake://encl?systems=3", "admin", "pw")


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    with stopped_after(manager_of_a_host_with_partitions(tmp_path, BMC)) as m:
        yield m


def run(manager: Manager, targets: list[str], **params: object) -> Job:
    return ended(manager, manager.jobs.submit("power", targets, dict(params)).id)


def plan(job: Job) -> list[tuple[int, str, str]]:
    return [(s.group, s.action, s.target or "") for s in job.steps]


def commands(bmc: FakeBmc) -> dict[str, list[str]]:
    return {f"rack-{k}": list(s.commands) for k, s in bmc.systems.items()}


def test_the_tree_knows_hosts_from_the_same_bmc(manager: Manager) -> None:
    tree = cascade_job.power_tree(manager.repo, with_should_run=True)
    assert {n: (t.kind.value, t.host) for n, t in tree.items()} == {
        "rack-1": ("machine", None),
        "rack-2": ("partition", "rack-1"),
        "rack-3": ("partition", "rack-1"),
    }


def test_stopping_a_host_stops_its_partitions_first_and_starting_it_brings_them_back(
    manager: Manager, bmc: FakeBmc
) -> None:
    off = run(manager, ["rack-1"], action="off")
    assert off.state is JobState.SUCCEEDED, off.error
    assert plan(off) == [
        (0, "power.stop", "rack-2"),
        (0, "power.stop", "rack-3"),
        (1, "power.set", "rack-1"),
    ]
    assert off.steps[0].result == {
        "previous": "on", "sent": True, "forced": False, "cascade_stop": True, "power": "off",
    }  # fmt: skip
    assert commands(bmc) == {"rack-1": ["off"], "rack-2": ["off"], "rack-3": ["off"]}

    on = run(manager, ["rack-1"], action="on")
    assert on.state is JobState.SUCCEEDED, on.error
    assert plan(on) == [
        (0, "power.set", "rack-1"),
        (1, "power.start", "rack-2"),
        (1, "power.start", "rack-3"),
    ]
    assert on.steps[0].params["wait"] is True  # the partitions depend on it
    assert all(s.power is PowerState.ON for s in bmc.systems.values())


def test_a_partition_stopped_on_purpose_stays_off_when_its_host_comes_back(
    manager: Manager, bmc: FakeBmc
) -> None:
    # waited for: the stored power reads "off", so the host's plan leaves rack-2 out
    assert run(manager, ["rack-2"], action="off", wait=True).state is JobState.SUCCEEDED
    off = run(manager, ["rack-1"], action="off")
    assert plan(off) == [(0, "power.stop", "rack-3"), (1, "power.set", "rack-1")]
    on = run(manager, ["rack-1"], action="on")
    assert plan(on) == [(0, "power.set", "rack-1"), (1, "power.start", "rack-3")]
    assert bmc.systems["2"].power is PowerState.OFF


def test_a_graceful_stop_is_forced_after_the_timeout(
    manager: Manager, bmc: FakeBmc, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An OS that ignores the graceful request: "off" leaves the system on.
    monkeypatch.setitem(fake_driver._AFTER, PowerAction.OFF, PowerState.ON)
    off = run(manager, ["rack-1"], action="off", graceful_timeout=0.05)
    assert off.state is JobState.SUCCEEDED, off.error
    stops = [s.result for s in off.steps if s.action == "power.stop"]
    assert len(stops) == 2
    assert all(r and r["forced"] and r["forced_after"] == 0.05 for r in stops)
    assert commands(bmc)["rack-2"] == ["off", "force_off"]


def test_starting_a_partition_starts_its_off_host_first(manager: Manager, bmc: FakeBmc) -> None:
    assert run(manager, ["rack-1"], action="force_off").state is JobState.SUCCEEDED
    on = run(manager, ["rack-3"], action="on")
    assert plan(on) == [(0, "power.set", "rack-1"), (1, "power.start", "rack-3")]
    assert bmc.systems["1"].power is PowerState.ON


def test_no_cascade_is_refused_where_unsafe_and_nothing_is_stored(
    manager: Manager, bmc: FakeBmc
) -> None:
    with pytest.raises(Conflict, match="running partitions"):
        manager.jobs.submit("power", ["rack-1"], {"action": "off", "cascade": False})
    assert manager.jobs.list_jobs() == []
    assert commands(bmc) == {"rack-1": [], "rack-2": [], "rack-3": []}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"action": "off", "cascade": "yes"}, "'cascade' is true or false"),
        ({"action": "off", "graceful_timeout": -1}, "graceful_timeout"),
        ({"action": "off", "graceful_timeout": True}, "graceful_timeout"),
    ],
)
def test_bad_cascade_params(manager: Manager, params: dict[str, object], fragment: str) -> None:
    with pytest.raises(Invalid, match=fragment):
        manager.jobs.submit("power", ["rack-1"], params)
    assert manager.jobs.list_jobs() == []


def test_a_resumed_stop_reads_the_state_sends_nothing_and_keeps_should_run(
    manager: Manager, bmc: FakeBmc
) -> None:
    params = {"action": "off", "force_after": 5, "cascade_of": "rack-1", "timeout": 5}
    step = Step(0, "stop rack-2", "rack-2", "power.stop", params, 0)
    context = manager.jobs.context(41)
    first = cascade_job.stop_step(context, step)
    again = cascade_job.stop_step(context, replace(step, attempts=2))
    assert (first["sent"], first.get("cascade_stop")) == (True, True)
    assert (again["sent"], again.get("cascade_stop")) == (False, None)
    assert bmc.systems["2"].commands == ["off"]
    assert cascade_job.should_run(manager.repo, "rack-2")
    manager.power.set("rack-2", PowerAction.OFF)  # an operator's own command clears it
    assert not cascade_job.should_run(manager.repo, "rack-2")
