"""The test hook KANRI_TEST_PAUSE_AFTER_STEP: where it holds a job, and that a job held
there is resumed by the next manager without acting twice."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from kanri.domain.errors import KanriError
from kanri.domain.jobs import JobState, Step, StepSpec, StepState
from kanri.domain.model import Bmc
from kanri.drivers.fake import world_of
from kanri.engine.job_runner import PAUSE_ENV, PausePoint
from kanri.engine.jobs import JobContext, JobOptions
from kanri.engine.manager import Manager, ManagerOptions
from kanri.settings import Settings
from tests.waiting import wait_for

BMC = Bmc("fake://rack?systems=2", "admin", "pw")
FAST = JobOptions(lease=2.0, heartbeat=0.05, lock_wait=30, lock_poll=0.02, settle_poll=0.01)


def _manager(data_dir: Path) -> Manager:
    settings = Settings(data_dir, f"sqlite:///{data_dir / 'kanri.db'}")
    return Manager(settings, ManagerOptions(workers=4, run_sync=False, jobs=FAST))


@pytest.mark.parametrize(
    ("raw", "point"),
    [
        ("power:1", PausePoint("power", 1, "done")),
        ("power:0:started", PausePoint("power", 0, "started")),
        ("power:2:acted", PausePoint("power", 2, "acted")),
    ],
)
def test_pause_points(monkeypatch: pytest.MonkeyPatch, raw: str, point: PausePoint) -> None:
    monkeypatch.setenv(PAUSE_ENV, raw)
    assert PausePoint.from_env() == point


@pytest.mark.parametrize("raw", ["power", "power:x", "power:1:sent", "power:1:done:x"])
def test_bad_pause_points_are_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(PAUSE_ENV, raw)
    with pytest.raises(KanriError, match=PAUSE_ENV):
        PausePoint.from_env()


def test_a_job_held_after_a_step_started_acts_once_when_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(PAUSE_ENV, "power:0:started")
    first = _manager(tmp_path)
    first.machines.add("rack", BMC, driver="fake")
    world = world_of(first.drivers.context)
    systems = world.bmcs[BMC.url].systems
    try:
        job = first.jobs.submit("power", ["rack-1", "rack-2"], {"action": "on"})
        wait_for(lambda: f"job {job.id} paused after step 0 (started)" in caplog.text)
        held = first.jobs.get(job.id)
        assert held.steps[0].state is StepState.STARTED
        assert held.steps[0].attempts == 1
        assert systems["1"].commands == []  # journaled started, nothing sent yet
    finally:
        first.stop()  # the held step is left as journaled
    assert first.jobs.get(job.id).steps[0].state is StepState.STARTED

    monkeypatch.delenv(PAUSE_ENV)
    second = _manager(tmp_path)
    try:
        # the fake world belongs to the driver context: carry the machines' state over
        world_of(second.drivers.context).bmcs[BMC.url] = world.bmcs[BMC.url]
        second.start()
        wait_for(lambda: second.jobs.get(job.id).state.ended)
        resumed = second.jobs.get(job.id)
        assert resumed.state is JobState.SUCCEEDED, resumed.error
        assert resumed.steps[0].attempts == 2
        assert resumed.steps[0].result is not None
        assert resumed.steps[0].result["sent"] is True  # the resumed attempt sent it
        assert systems["1"].commands == ["on"]
        assert systems["2"].commands == ["on"]
    finally:
        second.stop()


def test_a_step_cut_short_by_a_manager_stop_is_left_started_not_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A graceful stop shuts the driver pools under steps still running: the error that
    makes is no failure of the step; it is left started, for the next manager to redo."""
    caplog.set_level(logging.INFO, "kanri.engine.job_runner")
    m = _manager(tmp_path)
    m.machines.add("rack", BMC, driver="fake")
    running = threading.Event()

    def cut_short(context: JobContext, step: Step) -> dict[str, Any]:
        running.set()
        context.stopping.wait()
        raise RuntimeError("cannot schedule new futures after shutdown")

    m.jobs.register("test", lambda targets, params, context: [StepSpec("s", "rack-1", "cut")])
    m.jobs.register_action("cut", cut_short)
    try:
        job = m.jobs.submit("test", ["rack-1"])
        wait_for(running.is_set)
    finally:
        m.stop()
    wait_for(
        lambda: f"job {job.id} left to be resumed" in caplog.text or m.jobs.get(job.id).state.ended
    )
    left = m.jobs.get(job.id)
    assert left.state is JobState.RUNNING
    assert (left.steps[0].state, left.steps[0].error) == (StepState.STARTED, None)
