"""Run-state keeping through the manager, on the fake driver: a host (rack-1) with two
partitions (rack-2, rack-3) behind one BMC, all running; the sync loop's sweeps are
called by hand so the sequence is the test's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.jobs import Job, JobState
from kanri.domain.model import Bmc
from kanri.domain.runstate import Cause, RunState
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.fake import FakeBmc
from kanri.engine.manager import Manager
from kanri.engine.runstates import RunStateService, step_cause
from kanri.engine.sync import SyncOptions
from tests.unit.engine.fake_manager import (
    ended,
    manager_of_a_host_with_partitions,
    stopped_after,
)

BMC = Bmc("fake://encl?systems=3", "admin", "pw")
S = RunState


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    with stopped_after(
        manager_of_a_host_with_partitions(tmp_path, BMC, sync=SyncOptions(settle_grace=0))
    ) as m:
        yield m


def run(manager: Manager, targets: list[str], **params: object) -> Job:
    job = manager.jobs.submit("power", targets, dict(params))
    return finished(manager, job.id)


def finished(manager: Manager, job_id: int) -> Job:
    job = ended(manager, job_id)
    assert job.state is JobState.SUCCEEDED, job.error
    return job


def states(manager: Manager) -> dict[str, tuple[RunState, str | None]]:
    return {n: (t.state, t.by) for n, t in manager.runstates.states("rack-1").items()}


def lose_host(bmc: FakeBmc) -> None:
    """The host loses power: it and its partitions read off, no command of kanri's."""
    for system in bmc.systems.values():
        system.power = PowerState.OFF


def test_a_failed_host_comes_back_with_exactly_what_ran(manager: Manager, bmc: FakeBmc) -> None:
    run(manager, ["rack-1"], action="on")  # kanri wants the host on: nothing to send
    run(manager, ["rack-3"], action="off", by="alice")  # an operator stops rack-3
    assert states(manager) == {
        "rack-2": (S.RUNNING, None),  # found running, never commanded
        "rack-3": (S.STOPPED_BY_OPERATOR, "alice"),
    }
    lose_host(bmc)
    manager.sync.sweep()
    snap = manager.runstates.latest_snapshot("rack-1")
    assert snap is not None
    assert snap.restored_at is None
    assert snap.snapshot.cause is Cause.HOST_FAILED
    assert {n: t.state for n, t in snap.snapshot.states.items()} == {
        "rack-2": S.RUNNING,
        "rack-3": S.STOPPED_BY_OPERATOR,
    }
    drift = [e for e in manager.repo.list_events("rack-1") if e["kind"] == "power.drift"]
    assert snap.event_id == drift[0]["id"]
    # Read off with their host: lost with it, not "stopped outside".
    assert states(manager)["rack-2"][0] is S.LOST_WITH_HOST
    assert manager.runstates.latest_snapshot("rack-1") == snap
    manager.sync.sweep()  # still off: nothing more is frozen
    assert len(manager.runstates.snapshots("rack-1")) == 1

    bmc.systems["1"].power = PowerState.ON  # the host is back (an operator at the console)
    bmc.systems["2"].commands.clear()
    manager.sync.sweep()
    restored = manager.runstates.snapshot(snap.id)
    assert restored.restored_at is not None
    jobs = manager.jobs.list_jobs(kind="power")
    job = finished(manager, jobs[0].id)
    assert job.targets == ("rack-2",)
    assert job.params["restore"] == "host_back"
    assert bmc.systems["2"].commands == ["on"]
    assert bmc.systems["3"].commands == ["off"]  # the operator's stop, and nothing since
    assert states(manager)["rack-2"] == (S.RUNNING, "kanri")
    assert manager.runstates.states("rack-1")["rack-2"].cause is Cause.HOST_BACK

    manager.sync.sweep()  # the host back again: nothing is started twice
    manager.sync.sweep()
    assert len(manager.jobs.list_jobs(kind="power")) == len(jobs)


def test_an_operator_stop_after_the_loss_wins_over_the_snapshot(
    manager: Manager, bmc: FakeBmc
) -> None:
    lose_host(bmc)
    manager.sync.sweep()
    assert states(manager)["rack-3"][0] is S.LOST_WITH_HOST
    manager.runstates.record("rack-3", Cause.OPERATOR_STOP, "bob")
    bmc.systems["1"].power = PowerState.ON
    manager.sync.sweep()
    job = finished(manager, manager.jobs.list_jobs(kind="power")[0].id)
    assert job.targets == ("rack-2",)
    assert states(manager)["rack-3"] == (S.STOPPED_BY_OPERATOR, "bob")


def test_a_forced_off_host_is_frozen_and_its_start_brings_back_what_ran(
    manager: Manager, bmc: FakeBmc
) -> None:
    run(manager, ["rack-3"], action="off", by="alice")
    run(manager, ["rack-1"], action="force_off", by="carol")
    snap = manager.runstates.latest_snapshot("rack-1")
    assert snap is not None
    assert snap.snapshot.cause is Cause.HOST_FORCED_OFF
    assert states(manager) == {
        "rack-2": (S.LOST_WITH_HOST, "carol"),
        "rack-3": (S.STOPPED_BY_OPERATOR, "alice"),
    }
    on = run(manager, ["rack-1"], action="on", by="carol")  # the cascade brings back rack-2
    assert sorted(s.target or "" for s in on.steps) == ["rack-1", "rack-2"]
    assert states(manager)["rack-2"][0] is S.RUNNING
    manager.sync.sweep()  # the snapshot is settled: nothing left to start, no job
    assert manager.runstates.snapshot(snap.id).restored_at is not None
    assert len(manager.jobs.list_jobs(kind="power")) == 3


def test_a_cascade_stop_and_start_keeps_an_operators_stop(manager: Manager, bmc: FakeBmc) -> None:
    run(manager, ["rack-3"], action="off", by="alice")
    run(manager, ["rack-1"], action="off", by="dave")
    assert states(manager) == {
        "rack-2": (S.STOPPED_BY_KANRI, "dave"),
        "rack-3": (S.STOPPED_BY_OPERATOR, "alice"),
    }
    assert manager.runstates.snapshots() == []  # a graceful stop loses nothing
    run(manager, ["rack-1"], action="on")
    assert [s[0] for s in states(manager).values()] == [S.RUNNING, S.STOPPED_BY_OPERATOR]


def test_partitions_seen_changing_without_kanri_are_believed(
    manager: Manager, bmc: FakeBmc
) -> None:
    manager.sync.sweep()
    bmc.systems["2"].power = PowerState.OFF  # its OS shut itself down
    manager.sync.sweep()
    assert states(manager)["rack-2"] == (S.STOPPED_OUTSIDE, "seen")
    bmc.systems["2"].power = PowerState.ON
    manager.sync.sweep()
    assert states(manager)["rack-2"] == (S.RUNNING, "seen")
    assert manager.runstates.snapshots() == []


def test_a_snapshot_is_restored_once_even_by_two_services(manager: Manager, bmc: FakeBmc) -> None:
    lose_host(bmc)
    manager.sync.sweep()
    other = RunStateService(manager.repo, manager.runstates.store)  # a second manager
    other.submit = lambda targets, params: 999
    bmc.systems["1"].power = PowerState.ON
    manager.repo.record_power("rack-1", PowerState.ON, reachable=True)
    first = manager.runstates.restore("rack-1")
    assert first is not None
    with pytest.raises(Conflict, match="restored already"):
        other.restore("rack-1")
    finished(manager, first)


def test_restore_refuses_what_is_not_there(manager: Manager) -> None:
    with pytest.raises(Exception, match="no run-state snapshot of rack-1"):
        manager.runstates.restore("rack-1")
    with pytest.raises(Conflict, match="rack-2 is a partition"):
        manager.runstates.states("rack-2")
    with pytest.raises(Invalid, match="restore"):
        manager.jobs.submit("power", ["rack-2"], {"action": "on", "restore": "yes"})


@pytest.mark.parametrize(
    ("action", "params", "cause"),
    [
        (PowerAction.OFF, {"why": "asked"}, Cause.OPERATOR_STOP),
        (
            PowerAction.FORCE_OFF,
            {"cascade_of": "h", "why": "before its host h"},
            Cause.CASCADE_STOP,
        ),
        (PowerAction.ON, {"why": "asked"}, Cause.OPERATOR_START),
        (PowerAction.ON, {"why": "should run on h"}, Cause.CASCADE_START),
        (PowerAction.ON, {"why": "asked", "restore": "host_back"}, Cause.HOST_BACK),
        (PowerAction.ON, {"restore": "layout_restored"}, Cause.LAYOUT_RESTORED),
    ],
)
def test_step_causes(action: PowerAction, params: dict[str, str], cause: Cause) -> None:
    assert step_cause(action, params) is cause
