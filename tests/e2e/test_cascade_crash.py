"""A manager killed with -9 in the middle of a cascade (``kanri power off|on HOST``)
resumes the job on restart, and the lab's own history shows every power command once:
the partitions stopped before their host, the host started before them, and the
partitions the cascade stopped (and only those) back after it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, Managers
from tests.e2e.lab_helpers import (
    add_lab,
    history,
    hypervisor_lab,
    last_seq,
    os_running,
    power_commands,
    power_of,
)
from tests.waiting import wait_for

SYSTEMS = ("hv", "p1", "p2", "p3")
# p3 is off: the cascade neither stops nor starts it
LAB = hypervisor_lab(50.0, running=("p1", "p2"), stopped=("p3",))


def commands(lab: LabServer, since: int) -> dict[str, int]:
    return power_commands(lab, SYSTEMS, since)


def power(lab: LabServer) -> list[str]:
    return [power_of(lab, s) for s in SYSTEMS]


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


def add_lab_booted(cli: Cli, lab: LabServer, tmp_path: Path) -> None:
    """The lab's machines added, once the running ones have an OS: a graceful stop needs
    one."""
    add_lab(cli, lab, tmp_path)
    wait_for(lambda: os_running(lab, "hv", "p1", "p2"), 30)


def assert_partitions_off_before_host(lab: LabServer, since: int) -> None:
    """Since ``since``, p1 and p2 went off, then their host (waiting for the host's
    graceful shutdown, which completes in lab time after its step succeeded)."""
    wait_for(lambda: len(history(lab, "power.off", since)) == 3)
    offs = history(lab, "power.off", since)
    assert sorted(offs[:2]) == ["p1", "p2"]
    assert offs[2:] == ["hv"]


def test_cascade_off_then_on_each_killed_mid_way(
    lab: LabServer, managers: Managers, tmp_path: Path
) -> None:
    # off: stop right after p1's stop acted (it is off), before the journal says done —
    # the worst moment to die; p2's stop runs beside it, the host's waits for both.
    cli = managers.start(pause="power:0:acted")
    add_lab_booted(cli, lab, tmp_path)
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
    assert_partitions_off_before_host(lab, seq)
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
    ons = history(lab, "power.on", seq)
    assert ons[0] == "hv"  # the host before its partitions
    assert sorted(ons[1:]) == ["p1", "p2"]  # once each; p3 was off before: it stays off
    assert power(lab) == ["On", "On", "On", "Off"]


def test_cascade_off_killed_before_a_partition_step_acted(
    lab: LabServer, managers: Managers, tmp_path: Path
) -> None:
    # p2's stop is journaled started and has sent nothing when the manager dies; p1's
    # runs beside it, the host's waits for both.
    cli = managers.start(pause="power:1:started")
    add_lab_booted(cli, lab, tmp_path)
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
    assert_partitions_off_before_host(lab, seq)

    # the resumed stop journaled p2's cascade stop: it comes back with its host
    seq = last_seq(lab)
    on = cli("power", "on", "lab-hv", "--wait", "--timeout", "60")
    assert on.code == 0, on.err + on.out
    assert commands(lab, seq) == {"hv": 1, "p1": 1, "p2": 1, "p3": 0}
    assert power(lab) == ["On", "On", "On", "Off"]
