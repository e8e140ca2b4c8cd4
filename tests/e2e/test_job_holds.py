"""Jobs against the rest of the manager, through a real ``kanri serve`` and the lab: a
machine a running job holds is neither removed nor renamed (exit 4, naming the job), and
``kanri power --wait`` whose step times out exits 7.

Both lab machines are on with no OS (no boot volume), so a graceful off is never
answered, as on real gear: the job's step waits until its timeout, or until the test
cuts the power in the lab."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.model.states import ResetType
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer, assert_one_error
from tests.e2e.lab_helpers import add_lab
from tests.waiting import wait_for

LAB: dict[str, Any] = {
    "scale": 50.0,
    "machines": [{"id": "m1", "power": "On"}, {"id": "m2", "power": "On"}],
}


@pytest.fixture
def cli(cli: Cli, lab: LabServer, tmp_path: Path) -> Cli:
    """The manager's CLI, the lab's machines added."""
    add_lab(cli, lab, tmp_path)
    return cli


def _running_step(server: KanriServer) -> int:
    """The id of the one job whose step has started, once it has."""
    headers = {"Authorization": f"Bearer {server.token}"}
    found: list[int] = []

    def started() -> bool:
        jobs = httpx.get(f"{server.url}/api/v1/jobs", headers=headers, params={"state": "running"})
        for job in jobs.json():
            shown = httpx.get(f"{server.url}/api/v1/jobs/{job['id']}", headers=headers).json()
            if any(s["state"] == "started" for s in shown["steps"]):
                found.append(job["id"])
                return True
        return False

    wait_for(started, timeout=30, interval=0.05)
    return found[0]


def test_a_held_machine_stays_and_a_timed_out_wait_exits_7(
    cli: Cli, kanri_server: KanriServer, lab: LabServer
) -> None:
    waiting = subprocess.Popen(
        [sys.executable, "-m", "kanri", "power", "off", "lab-m1", "--wait", "--timeout", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.environment(),
    )
    try:
        job = _running_step(kanri_server)
        assert_one_error(cli("machine", "remove", "lab-m1", "--yes"), 4, f"held by job {job}")
        assert_one_error(cli("machine", "rename", "lab-m1", "db1"), 4, f"held by job {job}")
        assert cli("machine", "show", "lab-m1").code == 0  # nothing changed
        assert lab.lab is not None
        lab.lab.reset("m1", ResetType.FORCE_OFF)  # its step reads off: the job succeeds
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, err + out
    assert cli("machine", "rename", "lab-m1", "db1").code == 0  # released with the job end

    timed_out = cli("power", "off", "lab-m2", "--wait", "--timeout", "1")
    assert_one_error(timed_out, 7, "failed", "lab-m2 is on after 1s (want off)")
