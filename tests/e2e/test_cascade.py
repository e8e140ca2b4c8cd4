"""Hierarchical power through a real ``kanri serve`` against the lab: a host's running
partitions stop before it and come back after it; a partition's off host starts first;
acting on a host alone is refused while its partitions run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.waiting import wait_for

PART = {"host": "hv", "cores": 2, "memory_gib": 8, "ports": ["fc0:shared"]}
LAB: dict[str, Any] = {
    "scale": 20.0,
    "machines": [{"id": "hv", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"}],
    "partitions": [
        {**PART, "id": "p1", "power": "On"},
        {**PART, "id": "p2", "power": "On"},
        {**PART, "id": "p3"},  # off: stays off when its host comes back
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


def system(lab: LabServer, system_id: str) -> tuple[str, str | None, str]:
    """(power, booted volume, boot progress) of one lab system."""
    assert lab.lab is not None
    with lab.lab.lock:
        s = lab.lab.system(system_id)
        return s.power.value, s.booted_volume, s.boot.value


def os_on(lab: LabServer, system_id: str, volume: str) -> Callable[[], bool]:
    return lambda: system(lab, system_id)[1] == volume and system(lab, system_id)[2] == "OSRunning"


def events(lab: LabServer, since: int, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    assert lab.lab is not None
    return [
        (r.kind, r.data["system"])
        for r in lab.lab.history.since(since)
        if r.kind in kinds and r.data.get("system") in ("hv", "p1", "p2", "p3")
    ]


def last_seq(lab: LabServer) -> int:
    assert lab.lab is not None
    records = lab.lab.history.since(0)
    return records[-1].seq if records else 0


def test_stop_and_start_a_host_with_its_partitions(cli: Cli, lab: LabServer) -> None:
    for part, volume in (("p1", "vol-p1"), ("p2", "vol-p2")):
        wait_for(os_on(lab, part, volume), timeout=30)
    machines = {m["name"]: m for m in json.loads(cli("machine", "list", "-o", "json").out)}
    assert machines["lab-p1"]["kind"] == "partition"

    # --no-cascade on a host with running partitions: refused, nothing sent
    seq = last_seq(lab)
    refused = cli("power", "off", "lab-hv", "--no-cascade", "--wait")
    assert refused.code == 4, refused.err
    assert "running partitions" in refused.err
    assert len(refused.err.strip().splitlines()) == 1, refused.err
    assert events(lab, seq, ("power.command",)) == []

    seq = last_seq(lab)
    off = cli("power", "off", "lab-hv", "--wait", "--graceful-timeout", "30")
    assert off.code == 0, off.err + off.out
    offs = events(lab, seq, ("power.off",))
    assert sorted(offs[:2]) == [("power.off", "p1"), ("power.off", "p2")]
    assert offs[2:] == [("power.off", "hv")]
    assert [system(lab, s)[0] for s in ("hv", "p1", "p2", "p3")] == ["Off"] * 4

    seq = last_seq(lab)
    on = cli("power", "on", "lab-hv", "--wait", "--timeout", "60")
    assert on.code == 0, on.err + on.out
    ons = events(lab, seq, ("power.on",))
    assert ons[0] == ("power.on", "hv")
    assert sorted(ons[1:]) == [("power.on", "p1"), ("power.on", "p2")]  # p3 was off: stays
    for part, volume in (("p1", "vol-p1"), ("p2", "vol-p2")):
        wait_for(os_on(lab, part, volume), timeout=30)
    assert system(lab, "p3")[0] == "Off"


def test_starting_a_partition_starts_its_off_host_first(cli: Cli, lab: LabServer) -> None:
    off = cli("power", "off", "lab-hv", "--force", "--wait")
    assert off.code == 0, off.err + off.out
    assert system(lab, "hv")[0] == "Off"

    refused = cli("power", "on", "lab-p3", "--no-cascade")
    assert refused.code == 4, refused.err
    assert "is off" in refused.err

    seq = last_seq(lab)
    on = cli("power", "on", "lab-p3", "--wait", "--timeout", "60")
    assert on.code == 0, on.err + on.out
    ons = events(lab, seq, ("power.on",))
    assert ons == [("power.on", "hv"), ("power.on", "p3")]  # p1, p2 were stopped with force
    wait_for(os_on(lab, "p3", "vol-p3"), timeout=30)


def test_unknown_targets_and_groups_are_one_error_line(cli: Cli) -> None:
    ghost = cli("power", "on", "ghost")
    assert ghost.code == 3, ghost.err
    assert "no machine named 'ghost'" in ghost.err
    nogroup = cli("power", "off", "--group", "nogroup")
    assert nogroup.code == 3, nogroup.err
    nothing = cli("power", "off")
    assert nothing.code == 2, nothing.err
    for run in (ghost, nogroup, nothing):
        assert len(run.err.strip().splitlines()) == 1, run.err
