"""A ``once`` schedule made through the CLI comes due in a live ``kanri serve``: its run is
submitted as a power job and the lab machine comes on.

Schedules are minute-grained, so the manager runs with its schedules' clock shifted
(KANRI_TEST_CLOCK_OFFSET) to a few seconds before a minute boundary: the run comes due in
seconds, through the real scheduler thread, instead of up to a minute later."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.waiting import wait_for

LAB = {"scale": 50.0, "machines": [{"id": "b1"}, {"id": "b2"}]}
START_AT_SECOND = 48  # the manager's clock at its start: the add follows within seconds
LEAD = 2.0  # seconds at least between the add and the run; else the minute after


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    with LabServer(LabConfig.from_dict(LAB), tmp_path / "lab") as server:
        yield server


def power(lab: LabServer, system: str) -> str:
    assert lab.lab is not None
    with lab.lab.lock:
        return lab.lab.system(system).power.value


def _json(cli: Cli, *args: str) -> Any:
    done = cli(*args, "-o", "json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def test_a_once_schedule_comes_due_and_powers_the_machine_on(
    lab: LabServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offset = (START_AT_SECOND - time.time()) % 60
    monkeypatch.setenv("KANRI_TEST_CLOCK_OFFSET", f"{offset:.3f}")
    server = KanriServer(tmp_path / "data")
    server.start()
    try:
        cli = Cli(server.url, server.data_dir)
        pw = tmp_path / "pw"
        pw.write_text("password\n")
        pw.chmod(0o600)
        add = cli("machine", "add", "lab", "--bmc", lab.url, "--user", "admin",
                  "--password-file", str(pw))  # fmt: skip
        assert add.code == 0, add.err
        assert (power(lab, "b1"), power(lab, "b2")) == ("Off", "Off")

        now = datetime.now(UTC) + timedelta(seconds=offset)  # the manager's clock
        at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if (at - now).total_seconds() < LEAD:
            at += timedelta(minutes=1)  # a slow start: the next minute, not a past one
        made = cli("schedule", "add", "wake", "on", "lab-b1", "--zone", "UTC",
                   "--at", at.strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
        assert made.code == 0, made.err
        assert _json(cli, "job", "list") == []  # not due yet
        [coming] = _json(cli, "schedule", "next", "wake")
        assert datetime.fromisoformat(coming["utc"]) == at

        wait_for(lambda: bool(_json(cli, "job", "list")), timeout=70 + LEAD)
        [job] = _json(cli, "job", "list")
        assert (job["kind"], job["targets"]) == ("power", ["lab-b1"])
        wait_for(lambda: power(lab, "b1") == "On", timeout=30)
        assert power(lab, "b2") == "Off"

        [run] = _json(cli, "schedule", "show", "wake")["runs"]
        assert (run["status"], str(run["job_id"])) == ("submitted", str(job["id"]))
        assert run["due_at"].startswith(at.strftime("%Y-%m-%dT%H:%M"))
        finished = cli("job", "watch", str(job["id"]), "--interval", "0.2", "-o", "json")
        assert finished.code == 0, finished.err
        assert json.loads(finished.out)["state"] == "succeeded"
    finally:
        server.stop()
