"""Run-state keeping through a real ``kanri serve`` against the lab: a host loses power
with p1 running and p2 stopped by an operator; when the host is powered on again, exactly
p1 boots (the sync loop sees the host back and restores the snapshot), p2 stays off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kanri.lab.model.states import ResetType
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli
from tests.e2e.lab_helpers import (
    add_lab,
    hypervisor_lab,
    last_seq,
    os_booted_from,
    system_state,
)
from tests.e2e.test_lab_cli import kanri as lab_cli
from tests.waiting import wait_for

LAB = hypervisor_lab(20.0, running=("p1", "p2"))


@pytest.fixture
def cli(cli: Cli, lab: LabServer, tmp_path: Path) -> Cli:
    """The manager's CLI, the lab's machines added."""
    add_lab(cli, lab, tmp_path)
    return cli


def states(cli: Cli) -> dict[str, tuple[str, str | None]]:
    run = cli("partition", "states", "lab-hv", "-o", "json")
    assert run.code == 0, run.err
    return {s["partition"]: (s["state"], s["by"]) for s in json.loads(run.out)}


def snapshots(cli: Cli) -> list[dict[str, Any]]:
    run = cli("snapshot", "list", "--host", "lab-hv", "-o", "json")
    assert run.code == 0, run.err
    return list(json.loads(run.out))


def starts(lab: LabServer, since: int) -> list[str]:
    assert lab.lab is not None
    return [
        r.data["system"]
        for r in lab.lab.history.since(since)
        if r.kind == "power.command" and r.data.get("reset_type") == "On"
    ]


def test_a_host_back_from_a_power_loss_starts_exactly_what_ran(cli: Cli, lab: LabServer) -> None:
    for part, volume in (("p1", "vol-p1"), ("p2", "vol-p2")):
        wait_for(os_booted_from(lab, part, volume), timeout=30)
    stop = cli("power", "off", "lab-p2", "--force", "--wait")  # the operator stops p2
    assert stop.code == 0, stop.err + stop.out
    wait_for(lambda: states(cli)["lab-p2"][0] == "stopped_by_operator", timeout=10)

    lost = lab_cli("inject", "power-loss", "hv", url=lab.url)
    assert lost.code == 0, lost.err
    wait_for(lambda: len(snapshots(cli)) == 1, timeout=30)  # the sync loop saw it off
    (snap,) = snapshots(cli)
    assert (snap["cause"], snap["to_start"], snap["restored_at"]) == (
        "host_failed",
        ["lab-p1"],
        None,
    )
    assert states(cli)["lab-p1"][0] == "lost_with_host"
    table = cli("snapshot", "list")
    assert table.code == 0, table.err
    assert "host_failed" in table.out
    assert "lab-p1" in table.out
    shown = cli("snapshot", "show", str(snap["id"]))
    assert shown.code == 0, shown.err
    assert "lab-p2" in shown.out
    assert "stopped_by_operator" in shown.out

    cleared = lab_cli("clear", "hv", url=lab.url)  # power is back; the host stays off
    assert cleared.code == 0, cleared.err
    seq = last_seq(lab)
    assert lab.lab is not None
    lab.lab.reset("hv", ResetType.ON)  # someone at the console powers it on
    wait_for(os_booted_from(lab, "p1", "vol-p1"), timeout=60)
    wait_for(lambda: snapshots(cli)[0]["restored_at"] is not None, timeout=10)
    assert starts(lab, seq) == ["hv", "p1"]
    assert system_state(lab, "p2")[0] == "Off"
    after = states(cli)
    assert after["lab-p1"] == ("running", "kanri")
    assert after["lab-p2"][0] == "stopped_by_operator"
    assert (after["lab-p2"][1] or "").startswith("admin@")  # the caller's token name
    by_table = cli("partition", "states", "lab-hv")
    assert by_table.code == 0, by_table.err
    assert "host_back" in by_table.out
    again = cli("snapshot", "restore", str(snap["id"]))
    assert again.code == 4, again.out  # restored already: a conflict
    assert "restored already" in again.err
