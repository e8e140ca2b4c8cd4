"""A manager killed with -9 in the middle of a power job resumes it on restart, and the
lab's own history shows that no machine got its power command twice."""

from __future__ import annotations

import json
from pathlib import Path

from kanri.lab.server import LabServer
from tests.e2e.conftest import Managers
from tests.e2e.lab_helpers import add_lab, power_commands

LAB = {
    "scale": 20.0,
    "machines": [{"id": "b1"}, {"id": "b2"}, {"id": "b3"}],
}
SYSTEMS = ("b1", "b2", "b3")
NAMES = [f"lab-{s}" for s in SYSTEMS]


def test_kill_9_mid_job_resumes_without_sending_twice(
    lab: LabServer, managers: Managers, tmp_path: Path
) -> None:
    # Stop right after step 1's command went out, before the journal says it is done:
    # the worst moment to die.
    cli = managers.start(pause="power:1:acted")
    add_lab(cli, lab, tmp_path)
    run = cli("job", "run", "power", "on", *NAMES, "--wait", "--max-parallel", "1",
              "-o", "json")  # fmt: skip
    assert run.code == 0, run.err
    job_id = json.loads(run.out)["id"]
    managers.wait_paused(1)
    shown = json.loads(cli("job", "show", str(job_id), "-o", "json").out)
    assert [s["state"] for s in shown["steps"]] == ["done", "started", "pending"]
    assert power_commands(lab, SYSTEMS) == {"b1": 1, "b2": 1, "b3": 0}
    managers.kill()

    cli = managers.start()
    watched = cli("job", "watch", str(job_id), "--interval", "0.2", "-o", "json")
    assert watched.code == 0, (watched.out, watched.err)
    job = json.loads(watched.out)
    assert job["state"] == "succeeded"
    steps = job["steps"]
    assert [s["state"] for s in steps] == ["done", "done", "done"]
    assert [s["attempts"] for s in steps] == [1, 2, 1]
    assert steps[1]["result"]["sent"] is False  # re-read: on its way, nothing sent
    assert [s["result"]["power"] for s in steps] == ["on", "on", "on"]
    assert power_commands(lab, SYSTEMS) == {"b1": 1, "b2": 1, "b3": 1}
    events = json.loads(cli("event", "list", "-o", "json").out)
    assert any(e["kind"] == "job.adopted" for e in events)
    managers.stop()
