"""A ``once`` schedule made through the CLI comes due in a live ``kanri serve``: its run is
submitted as a power job and the lab machine comes on.

Schedules are minute-grained, so the manager runs with its schedules' clock shifted
(KANRI_TEST_CLOCK_OFFSET) to a few seconds before a minute boundary: the run comes due in
seconds, through the real scheduler thread, instead of up to a minute later."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.e2e.lab_helpers import add_lab, power_of
from tests.waiting import wait_for

LAB = {"scale": 50.0, "machines": [{"id": "b1"}, {"id": "b2"}]}
START_AT_SECOND = 48  # the manager's clock at its start: the add follows within seconds
LEAD = 2.0  # seconds at least between the add and the run; else the minute after


def test_a_once_schedule_comes_due_and_powers_the_machine_on(
    lab: LabServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offset = (START_AT_SECOND - time.time()) % 60
    monkeypatch.setenv("KANRI_TEST_CLOCK_OFFSET", f"{offset:.3f}")
    server = KanriServer(tmp_path / "data")
    server.start()
    try:
        cli = Cli(server.url, server.data_dir)
        add_lab(cli, lab, tmp_path)
        assert (power_of(lab, "b1"), power_of(lab, "b2")) == ("Off", "Off")

        now = datetime.now(UTC) + timedelta(seconds=offset)  # the manager's clock
        at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if (at - now).total_seconds() < LEAD:
            at += timedelta(minutes=1)  # a slow start: the next minute, not a past one
        made = cli("schedule", "add", "wake", "on", "lab-b1", "--zone", "UTC",
                   "--at", at.strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
        assert made.code == 0, made.err
        assert cli.json("job", "list") == []  # not due yet
        [coming] = cli.json("schedule", "next", "wake")
        assert datetime.fromisoformat(coming["utc"]) == at

        wait_for(lambda: bool(cli.json("job", "list")), timeout=70 + LEAD)
        [job] = cli.json("job", "list")
        assert (job["kind"], job["targets"]) == ("power", ["lab-b1"])
        wait_for(lambda: power_of(lab, "b1") == "On", timeout=30)
        assert power_of(lab, "b2") == "Off"

        [run] = cli.json("schedule", "show", "wake")["runs"]
        assert (run["status"], str(run["job_id"])) == ("submitted", str(job["id"]))
        assert run["due_at"].startswith(at.strftime("%Y-%m-%dT%H:%M"))
        finished = cli("job", "watch", str(job["id"]), "--interval", "0.2", "-o", "json")
        assert finished.code == 0, finished.err
        assert json.loads(finished.out)["state"] == "succeeded"
    finally:
        server.stop()
