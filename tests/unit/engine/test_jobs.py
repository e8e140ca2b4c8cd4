"""The job engine on the fake driver: parallel groups, cancel, failure, locks, resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.jobs import JobState, Step, StepSpec, StepState
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.base import DriverOptions
from kanri.drivers.fake import FakeBmc, FakeWorld, world_of
from kanri.engine.jobs import JobContext, JobOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.settings import Settings
from kanri.store.tables import JobRow
from tests.unit.engine.fake_manager import FAST, ended, fast_manager
from tests.waiting import wait_for

BMC = Bmc("fake://rack?systems=3", "admin", "pw")
NAMES = ["rack-1", "rack-2", "rack-3"]


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    m = fast_manager(tmp_path)
    m.machines.add("rack", BMC, driver="fake")
    try:
        yield m
    finally:
        m.stop()


def commands(bmc: FakeBmc) -> dict[str, list[str]]:
    return {f"rack-{k}": s.commands for k, s in bmc.systems.items()}


def test_power_job_acts_on_every_target_once(manager: Manager, bmc: FakeBmc) -> None:
    bmc.systems["2"].power = PowerState.ON  # already there: nothing to send
    job = manager.jobs.submit("power", NAMES, {"action": "on", "wait": True})
    assert [s.group for s in job.steps] == [0, 0, 0]
    job = ended(manager, job.id)
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.progress == 1.0
    assert [s.state for s in job.steps] == [StepState.DONE] * 3
    assert [s.attempts for s in job.steps] == [1, 1, 1]
    assert [s.result and s.result["sent"] for s in job.steps] == [True, False, True]
    assert commands(bmc) == {"rack-1": ["on"], "rack-2": [], "rack-3": ["on"]}
    kinds = [e["kind"] for e in manager.repo.list_events()]
    assert {"job.submitted", "job.started", "job.finished"} <= set(kinds)
    assert manager.jobs.repo.holders(NAMES) == {}  # released


def test_one_group_runs_in_parallel(manager: Manager, bmc: FakeBmc) -> None:
    gate = bmc.gate = threading.Event()
    try:
        job = manager.jobs.submit("power", NAMES, {"action": "on"})
        # every step is journaled started while the BMC holds all three at once
        wait_for(
            lambda: [s.state for s in manager.jobs.get(job.id).steps] == [StepState.STARTED] * 3
        )
    finally:
        gate.set()
    assert ended(manager, job.id).state is JobState.SUCCEEDED


def test_steps_on_one_bmc_stay_within_its_cap(tmp_path: Path) -> None:
    """More steps than the BMC's cap would only queue behind the driver's per-BMC limit,
    where the wait counts against each call's deadline: the runner holds them back."""
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}")
    options = ManagerOptions(
        workers=8, run_sync=False, jobs=FAST, drivers=DriverOptions(per_bmc_concurrency=2)
    )
    m = Manager(settings, options)
    try:
        m.machines.add("rack", BMC, driver="fake")
        m.jobs.start()
        fake = world_of(m.drivers.context).bmcs[BMC.url]
        gate = fake.gate = threading.Event()
        try:
            job = m.jobs.submit("power", NAMES, {"action": "on"})
            wait_for(
                lambda: [s.state for s in m.jobs.get(job.id).steps].count(StepState.STARTED) == 2
            )
            time.sleep(0.2)  # a third step would be journaled started by now if let go
            states = [s.state for s in m.jobs.get(job.id).steps]
            assert states.count(StepState.STARTED) == 2
            assert states.count(StepState.PENDING) == 1
        finally:
            gate.set()
        assert ended(m, job.id).state is JobState.SUCCEEDED
    finally:
        m.stop()


def test_cancel_lets_the_running_step_finish_and_starts_no_other(
    manager: Manager, bmc: FakeBmc
) -> None:
    gate = bmc.gate = threading.Event()
    try:
        job = manager.jobs.submit("power", NAMES, {"action": "on", "max_parallel": 1})
        wait_for(lambda: manager.jobs.get(job.id).steps[0].state is StepState.STARTED)
        cancelling = manager.jobs.cancel(job.id)
        assert cancelling.state is JobState.CANCELLING
        assert [s.state for s in cancelling.steps[1:]] == [StepState.CANCELLED] * 2
    finally:
        gate.set()
    job = ended(manager, job.id)
    assert job.state is JobState.CANCELLED
    assert [s.state for s in job.steps] == [
        StepState.DONE,
        StepState.CANCELLED,
        StepState.CANCELLED,
    ]
    assert commands(bmc) == {"rack-1": ["on"], "rack-2": [], "rack-3": []}
    with pytest.raises(Conflict, match="has ended"):
        manager.jobs.cancel(job.id)


def test_a_failed_group_skips_the_next(manager: Manager, bmc: FakeBmc) -> None:
    ran: list[str] = []

    def plan(targets: list[str], params: dict[str, Any], ctx: JobContext) -> list[StepSpec]:
        return [
            StepSpec("first", targets[0], "test.act", {"fail": True}, group=0),
            StepSpec("second", targets[0], "test.act", {}, group=0),
            StepSpec("then", targets[1], "test.act", {}, group=1),
        ]

    def act(ctx: JobContext, step: Step) -> dict[str, Any]:
        ran.append(step.name)
        if step.params.get("fail"):
            raise Invalid("it broke")
        return {"ok": True}

    manager.jobs.register("test", plan)
    manager.jobs.register_action("test.act", act)
    job = ended(manager, manager.jobs.submit("test", NAMES[:2], {}).id)
    assert job.state is JobState.FAILED
    assert job.error == "step 0 (first): it broke"
    assert [s.state for s in job.steps] == [StepState.FAILED, StepState.DONE, StepState.SKIPPED]
    assert sorted(ran) == ["first", "second"]


def test_a_bmc_error_fails_the_step(manager: Manager, bmc: FakeBmc) -> None:
    bmc.fail_after = bmc.requests  # every request from now on is an HTTP 500
    job = ended(manager, manager.jobs.submit("power", NAMES[:1], {"action": "on"}).id)
    assert job.state is JobState.FAILED
    assert "HTTP 500" in (job.steps[0].error or "")


@pytest.mark.parametrize(
    ("kind", "targets", "params", "error", "match"),
    [
        ("nope", NAMES, {}, Invalid, "no job kind 'nope'"),
        ("power", [], {"action": "on"}, Invalid, "at least one target"),
        ("power", ["rack-1", "rack-1"], {"action": "on"}, Invalid, "twice"),
        ("power", NAMES, {"action": "explode"}, Invalid, "not one of"),
        ("power", NAMES, {"action": "on", "wait": "yes"}, Invalid, "true or false"),
        ("power", NAMES, {"action": "on", "timeout": -1}, Invalid, "above 0"),
        ("power", NAMES, {"action": "on", "colour": 1}, Invalid, "colour"),
        ("power", ["rack-1", "ghost"], {"action": "on"}, NotFound, "ghost"),
    ],
)
def test_bad_input_stores_nothing(
    manager: Manager,
    kind: str,
    targets: list[str],
    params: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        manager.jobs.submit(kind, targets, params)
    assert manager.jobs.list_jobs() == []


def test_a_held_target_makes_the_job_wait_and_operators_conflict(
    manager: Manager, bmc: FakeBmc
) -> None:
    assert manager.jobs.repo.acquire(["rack-2"], 999, "someone-else", lease=60) == {}
    with pytest.raises(Conflict, match=r"rack-2 is busy \(held by job 999\)"):
        manager.power.set("rack-2", PowerAction.ON)
    job = manager.jobs.submit("power", NAMES, {"action": "on"})
    wait_for(lambda: manager.jobs.get(job.id).message == "waiting for rack-2 held by job 999")
    assert manager.jobs.get(job.id).state is JobState.PENDING
    assert commands(bmc)["rack-1"] == []  # all or nothing: no target was taken
    manager.jobs.repo.release(999)
    assert ended(manager, job.id).state is JobState.SUCCEEDED


def test_a_job_gives_up_after_the_lock_wait(tmp_path: Path) -> None:
    m = fast_manager(tmp_path, JobOptions(lock_wait=0.1, lock_poll=0.02))
    try:
        m.machines.add("rack", BMC, driver="fake")
        m.jobs.repo.acquire(["rack-1"], 999, "someone-else", lease=60)
        job = ended(m, m.jobs.submit("power", ["rack-1"], {"action": "on"}).id)
        assert job.state is JobState.FAILED
        assert job.error == "gave up after 0.1s waiting for rack-1 held by job 999"
        assert job.steps[0].state is StepState.CANCELLED
    finally:
        m.stop()


def _crashed_job(m: Manager, action: str, owner: str) -> int:
    """A job as a manager killed mid-step leaves it: running, step 0 journaled started."""
    specs_job = m.jobs.repo.create(
        "power",
        ["rack-1"],
        {"action": action},
        [
            StepSpec(
                f"{action} rack-1",
                "rack-1",
                "power.cycle" if action == "reset" else "power.set",
                {"action": action, "wait": False, "timeout": 5},
            )
        ],
        owner=owner,
        lease=60,  # its lease has not expired: only the data directory tells it is dead
    )
    m.jobs.repo.move(specs_job.id, JobState.RUNNING)
    m.jobs.repo.acquire(["rack-1"], specs_job.id, owner, lease=60)
    assert m.jobs.repo.step_start(specs_job.id, 0) is not None
    return specs_job.id


def test_resume_reruns_a_started_step_which_reads_state_and_does_not_resend(
    tmp_path: Path,
) -> None:
    first = fast_manager(tmp_path)
    first.machines.add("rack", BMC, driver="fake")
    job_id = _crashed_job(first, "on", owner=first.jobs.owner)
    world: FakeWorld = world_of(first.drivers.context)
    world.bmcs[BMC.url].systems["1"].power = PowerState.ON  # the command had gone out
    first.stop()
    second = fast_manager(tmp_path)  # same data directory: the first run is known dead
    try:
        # the fake world belongs to the driver context: carry the machine's state over
        world_of(second.drivers.context).bmcs[BMC.url] = world.bmcs[BMC.url]
        second.start()
        job = ended(second, job_id)
        assert job.state is JobState.SUCCEEDED
        assert job.owner == second.jobs.owner
        assert job.steps[0].attempts == 2
        assert job.steps[0].result == {"previous": "on", "sent": False, "target": "on"}
        assert world.bmcs[BMC.url].systems["1"].commands == []  # never sent twice
    finally:
        second.stop()


def test_resume_does_not_repeat_a_step_that_is_not_idempotent(tmp_path: Path) -> None:
    first = fast_manager(tmp_path)
    first.machines.add("rack", BMC, driver="fake")
    job_id = _crashed_job(first, "reset", owner=first.jobs.owner)
    first.stop()
    second = fast_manager(tmp_path)
    try:
        second.start()
        job = ended(second, job_id)
        assert job.state is JobState.FAILED
        assert "outcome is unknown" in (job.steps[0].error or "")
        assert job.steps[0].attempts == 1
    finally:
        second.stop()


def test_another_managers_job_is_adopted_only_when_its_lease_expires(
    manager: Manager,
) -> None:
    job_id = _crashed_job(manager, "on", owner="elsewhere:run")
    manager.start()
    with manager.jobs.repo.db.session() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        assert row.owner == "elsewhere:run"
        row.lease_expires_at = row.created_at  # the other manager stopped renewing
    assert ended(manager, job_id).state is JobState.SUCCEEDED
    assert manager.jobs.get(job_id).owner == manager.jobs.owner
