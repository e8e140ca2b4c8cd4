"""A manager killed with -9 in the middle of a cascade (``kanri power off|on HOST``)
resumes the job on restart, and the lab's own history shows every power command once:
the partitions stopped before their host, the host started before them, and the
partitions the cascade stopped (and only those) back after it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.waiting import wait_for

PAUSE = "KANRI_TEST_PAUSE_AFTER_STEP"
SYSTEMS = ("hv", "p1", "p2", "p3")
PART = {"host": "hv", "cores": 2, "memory_gib": 8, "ports": ["fc0:shared"]}
LAB: dict[str, Any] = {
    "scale": 50.0,
    "machines": [{"id": "hv", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"}],
    "partitions": [
        {**PART, "id": "p1", "power": "On"},
        {**PART, "id": "p2", "power": "On"},
        {**PART, "id": "p3"},  # off: the cascade neither stops nor starts it
    ],
    "volumes": [{"id": "vol-p1", "size_gib": 1}, {"id": "vol-p2", "size_gib": 1},
                {"id": "vol-p3", "size_gib": 1}],
    "host_groups": [
        {"id": "hg-p1", "initiators": ["p1/fc0"], "luns": {0: "vol-p1"}},
        {"id": "hg-p2", "initiators": ["p2/fc0"], "luns": {0: "vol-p2"}},
        {"id": "hg-p3", "initiators": ["p3/fc0"], "luns": {0: "vol-p3"}},
    ],
}  # fmt: skip


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    server = LabServer(LabConfig.from_dict(LAB), tmp_path / "lab").start()
    try:
        yield server
    finally:
        server.stop()


class Managers:
    """``kanri serve`` runs one after another on one data directory, each started with or
    without the pause hook, killed with -9 or stopped."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data_dir = tmp_path / "data"
        self.monkeypatch = monkeypatch
        self.current: KanriServer | None = None

    def start(self, pause: str | None = None) -> Cli:
        if pause:
            self.monkeypatch.setenv(PAUSE, pause)
        else:
            self.monkeypatch.delenv(PAUSE, raising=False)
        self.current = KanriServer(self.data_dir)
        self.current.start()
        return Cli(self.current.url, self.data_dir)

    def wait_paused(self, step: int) -> None:
        assert self.current is not None
        log = self.current.log
        try:
            wait_for(lambda: f"paused after step {step} ".encode() in log.read_bytes(), 60, None)
        except AssertionError:
            pytest.fail(f"no pause after step {step}; log:\n{log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown, no journal write."""
        if self.current is not None and self.current.process is not None:
            self.current.process.kill()
            self.current.process.wait(timeout=30)
        self.current = None

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
        self.current = None


@pytest.fixture
def managers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Managers]:
    runs = Managers(tmp_path, monkeypatch)
    try:
        yield runs
    finally:
        runs.kill()


def history(lab: LabServer, since: int, kind: str) -> list[str]:
    """The lab systems of each ``kind`` record after ``since``, in order."""
    assert lab.lab is not None
    return [
        r.data["system"]
        for r in lab.lab.history.since(since)
        if r.kind == kind and r.data.get("system") in SYSTEMS
    ]


def commands(lab: LabServer, since: int) -> dict[str, int]:
    counted = Counter(history(lab, since, "power.command"))
    return {s: counted[s] for s in SYSTEMS}


def last_seq(lab: LabServer) -> int:
    assert lab.lab is not None
    records = lab.lab.history.since(0)
    return records[-1].seq if records else 0


def power(lab: LabServer) -> list[str]:
    assert lab.lab is not None
    with lab.lab.lock:
        return [lab.lab.system(s).power.value for s in SYSTEMS]


def os_running(lab: LabServer, *systems: str) -> bool:
    assert lab.lab is not None
    with lab.lab.lock:
        return all(lab.lab.system(s).boot.value == "OSRunning" for s in systems)


def submit(cli: Cli, action: str) -> int:
    """``kanri power ACTION lab-hv`` (a cascade), without --wait: the job's number."""
    done = cli("power", action, "lab-hv", "--timeout", "60", "--graceful-timeout", "30")
    assert done.code == 0, done.err + done.out
    found = re.search(r"job (\d+):", done.out)
    assert found, done.out
    return int(found.group(1))


def job(cli: Cli, job_id: int) -> dict[str, Any]:
    """The job as the API shows it (straight over HTTP: quicker than a CLI process)."""
    token = (cli.data_dir / "admin.token").read_text().strip()
    answer = httpx.get(
        f"{cli.url}/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def steps(cli: Cli, job_id: int) -> list[dict[str, Any]]:
    return list(job(cli, job_id)["steps"])


def finished(cli: Cli, job_id: int) -> list[dict[str, Any]]:
    """Follow the resumed job to its end: it succeeded; its steps."""
    wait_for(lambda: job(cli, job_id)["state"] in ("succeeded", "failed", "cancelled"), 60)
    ended = job(cli, job_id)
    assert ended["state"] == "succeeded", ended
    assert all(s["state"] == "done" for s in ended["steps"]), ended["steps"]
    return list(ended["steps"])


def add_lab(cli: Cli, lab: LabServer, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("password\n")
    pw.chmod(0o600)
    add = cli("machine", "add", "lab", "--bmc", lab.url, "--user", "admin",
              "--password-file", str(pw))  # fmt: skip
    assert add.code == 0, add.err
    wait_for(lambda: os_running(lab, "hv", "p1", "p2"), 30)  # a graceful stop needs an OS


def test_cascade_off_then_on_each_killed_mid_way(
    lab: LabServer, managers: Managers, tmp_path: Path
) -> None:
    # off: stop right after p1's stop acted (it is off), before the journal says done —
    # the worst moment to die; p2's stop runs beside it, the host's waits for both.
    cli = managers.start(pause="power:0:acted")
    add_lab(cli, lab, tmp_path)
    seq = last_seq(lab)
    off = submit(cli, "off")
    managers.wait_paused(0)
    paused = steps(cli, off)
    assert [(s["name"], s["group"]) for s in paused] == [
        ("stop lab-p1", 0), ("stop lab-p2", 0), ("off lab-hv", 1)
    ]  # fmt: skip
    assert (paused[0]["state"], paused[2]["state"]) == ("started", "pending")
    assert commands(lab, seq)["p1"] == 1
    assert commands(lab, seq)["hv"] == 0
    managers.kill()

    cli = managers.start()
    done = finished(cli, off)
    assert done[0]["attempts"] == 2
    assert done[0]["result"]["sent"] is False  # re-read: off already, nothing sent
    assert commands(lab, seq) == {"hv": 1, "p1": 1, "p2": 1, "p3": 0}
    # The host's graceful shutdown completes in lab time after its step succeeded.
    wait_for(lambda: len(history(lab, seq, "power.off")) == 3)
    offs = history(lab, seq, "power.off")
    assert sorted(offs[:2]) == ["p1", "p2"]
    assert offs[2:] == ["hv"]  # partitions stopped before their host
    assert power(lab) == ["Off"] * 4
    managers.stop()

    # on: stop right after p1's start acted; the host is on and p2 starts beside it
    cli = managers.start(pause="power:1:acted")
    seq = last_seq(lab)
    on = submit(cli, "on")
    managers.wait_paused(1)
    paused = steps(cli, on)
    assert [(s["name"], s["group"]) for s in paused] == [
        ("on lab-hv", 0), ("on lab-p1", 1), ("on lab-p2", 1)
    ]  # fmt: skip  # p1 and p2 should run again: the crashed cascade stopped them
    assert [paused[0]["state"], paused[1]["state"]] == ["done", "started"]
    assert commands(lab, seq)["hv"] == 1
    assert commands(lab, seq)["p1"] == 1
    managers.kill()

    cli = managers.start()
    done = finished(cli, on)
    assert done[1]["attempts"] == 2
    assert done[1]["result"]["sent"] is False
    assert commands(lab, seq) == {"hv": 1, "p1": 1, "p2": 1, "p3": 0}
    ons = history(lab, seq, "power.on")
    assert ons[0] == "hv"  # the host before its partitions
    assert sorted(ons[1:]) == ["p1", "p2"]  # once each; p3 was off before: it stays off
    assert power(lab) == ["On", "On", "On", "Off"]


def test_cascade_off_killed_before_a_partition_step_acted(
    lab: LabServer, managers: Managers, tmp_path: Path
) -> None:
    # p2's stop is journaled started and has sent nothing when the manager dies; p1's
    # runs beside it, the host's waits for both.
    cli = managers.start(pause="power:1:started")
    add_lab(cli, lab, tmp_path)
    seq = last_seq(lab)
    off = submit(cli, "off")
    managers.wait_paused(1)
    paused = steps(cli, off)
    assert [paused[1]["state"], paused[2]["state"]] == ["started", "pending"]
    assert commands(lab, seq)["p2"] == 0
    assert commands(lab, seq)["hv"] == 0
    managers.kill()

    cli = managers.start()
    done = finished(cli, off)
    assert done[1]["attempts"] == 2
    assert (done[1]["result"]["sent"], done[1]["result"]["cascade_stop"]) == (True, True)
    assert commands(lab, seq) == {"hv": 1, "p1": 1, "p2": 1, "p3": 0}
    # The host's graceful shutdown completes in lab time after its step succeeded.
    wait_for(lambda: len(history(lab, seq, "power.off")) == 3)
    offs = history(lab, seq, "power.off")
    assert sorted(offs[:2]) == ["p1", "p2"]
    assert offs[2:] == ["hv"]

    # the resumed stop journaled p2's cascade stop: it comes back with its host
    seq = last_seq(lab)
    on = cli("power", "on", "lab-hv", "--wait", "--timeout", "60")
    assert on.code == 0, on.err + on.out
    assert commands(lab, seq) == {"hv": 1, "p1": 1, "p2": 1, "p3": 0}
    assert power(lab) == ["On", "On", "On", "Off"]
