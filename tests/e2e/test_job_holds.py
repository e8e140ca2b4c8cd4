"""Jobs against the rest of the manager, through a real ``kanri serve`` and the lab: a
machine a running job holds is neither removed nor renamed (exit 4, naming the job), and
``kanri power --wait`` whose step times out exits 7.

Both lab machines are on with no OS (no boot volume), so a graceful off is never
answered, as on real gear: the job's step waits until its timeout, or until the test
cuts the power in the lab."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.config import LabConfig
from kanri.lab.model.states import ResetType
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer, Result
from tests.waiting import wait_for

LAB: dict[str, Any] = {
    "scale": 50.0,
    "machines": [{"id": "m1", "power": "On"}, {"id": "m2", "power": "On"}],
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    server = LabServer(LabConfig.from_dict(LAB), tmp_path / "lab").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli(kanri_server: KanriServer, lab: LabServer, tmp_path: Path) -> Cli:
    cli = Cli(kanri_server.url, kanri_server.data_dir)
    pw = tmp_path / "pw"
    pw.write_text("password\n")
    pw.chmod(0o600)
    add = cli("machine", "add", "lab", "--bmc", lab.url, "--user", "admin",
              "--password-file", str(pw))  # fmt: skip
    assert add.code == 0, add.err
    return cli


def _one_error(done: Result, code: int, *words: str) -> None:
    lines = done.err.strip().splitlines()
    assert done.code == code, done.err + done.out
    assert len(lines) == 1, done.err
    assert lines[0].startswith("error: "), done.err
    for word in words:
        assert word in lines[0], lines[0]


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
    env = {**os.environ, "KANRI_URL": cli.url, "KANRI_DATA_DIR": str(cli.data_dir)}
    env.pop("KANRI_TOKEN", None)
    waiting = subprocess.Popen(
        [sys.executable, "-m", "kanri", "power", "off", "lab-m1", "--wait", "--timeout", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        job = _running_step(kanri_server)
        _one_error(cli("machine", "remove", "lab-m1", "--yes"), 4, f"held by job {job}")
        _one_error(cli("machine", "rename", "lab-m1", "db1"), 4, f"held by job {job}")
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
    _one_error(timed_out, 7, "failed", "lab-m2 is on after 1s (want off)")
