"""A manager killed with -9 in the middle of a power job resumes it on restart, and the
lab's own history shows that no machine got its power command twice."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer

LAB = {
    "scale": 20.0,
    "machines": [{"id": "b1"}, {"id": "b2"}, {"id": "b3"}],
}
NAMES = ["lab-b1", "lab-b2", "lab-b3"]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    server = LabServer(LabConfig.from_dict(LAB), tmp_path / "lab").start()
    try:
        yield server
    finally:
        server.stop()


def until(check: Callable[[], bool], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached in {timeout:g}s; log:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def power_commands(lab: LabServer) -> dict[str, int]:
    assert lab.lab is not None
    counts = dict.fromkeys(("b1", "b2", "b3"), 0)
    for record in lab.lab.history.since(0):
        if record.kind == "power.command":
            counts[record.data["system"]] += 1
    return counts


def test_kill_9_mid_job_resumes_without_sending_twice(
    lab: LabServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    # Stop right after step 1's command went out, before the journal says it is done:
    # the worst moment to die.
    monkeypatch.setenv("KANRI_TEST_PAUSE_AFTER_STEP", "power:1:acted")
    first = KanriServer(data_dir)
    first.start()
    try:
        cli = Cli(first.url, data_dir)
        pw = tmp_path / "pw"
        pw.write_text("password\n")
        pw.chmod(0o600)
        add = cli("machine", "add", "lab", "--bmc", lab.url, "--user", "admin",
                  "--password-file", str(pw))  # fmt: skip
        assert add.code == 0, add.err
        run = cli("job", "run", "power", "on", *NAMES, "--wait", "--max-parallel", "1",
                  "-o", "json")  # fmt: skip
        assert run.code == 0, run.err
        job_id = json.loads(run.out)["id"]
        until(lambda: b"paused after step 1" in first.log.read_bytes(), "the pause", first.log)
        shown = json.loads(cli("job", "show", str(job_id), "-o", "json").out)
        assert [s["state"] for s in shown["steps"]] == ["done", "started", "pending"]
        assert power_commands(lab) == {"b1": 1, "b2": 1, "b3": 0}
    finally:
        assert first.process is not None
        first.process.kill()  # kill -9: no shutdown, no journal write
        first.process.wait(timeout=30)

    monkeypatch.delenv("KANRI_TEST_PAUSE_AFTER_STEP")
    second = KanriServer(data_dir)
    second.start()
    try:
        cli = Cli(second.url, data_dir)
        watched = cli("job", "watch", str(job_id), "--interval", "0.2", "-o", "json")
        assert watched.code == 0, (watched.out, watched.err)
        job = json.loads(watched.out)
        assert job["state"] == "succeeded"
        steps = job["steps"]
        assert [s["state"] for s in steps] == ["done", "done", "done"]
        assert [s["attempts"] for s in steps] == [1, 2, 1]
        assert steps[1]["result"]["sent"] is False  # re-read: on its way, nothing sent
        assert [s["result"]["power"] for s in steps] == ["on", "on", "on"]
        assert power_commands(lab) == {"b1": 1, "b2": 1, "b3": 1}
        events = json.loads(cli("event", "list", "-o", "json").out)
        assert any(e["kind"] == "job.adopted" for e in events)
    finally:
        second.stop()
