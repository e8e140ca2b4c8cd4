"""Issue 5's proof through a real ``kanri serve`` and the lab: a bare machine is switched
to hypervisor mode and carved; three servers, each mapped by the lab's SAN to its own
volume, are placed on the partitions; one runs, one is never started, one runs and is
stopped by the operator. The layout is exported, the host loses power (kanri freezes the
run states), and the layout is applied to a second hypervisor with ``--restore-states``:
exactly the server that ran boots its own volume there, the others stay off, and the lab
sees no volume used twice. A bare machine and a machine too small are refused first, with
nothing created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli
from tests.e2e.lab_helpers import add_lab, boot_volumes, machine
from tests.e2e.test_lab_cli import kanri as lab_cli
from tests.waiting import wait_for

WWPN = "2c:00:4b:41:00:00:01:0{}"  # the servers', in kanri's range; the SAN maps each
SERVERS = {"srv-a": 1, "srv-b": 2, "srv-c": 3}  # to its own volume
LAB: dict[str, Any] = {
    "scale": 50.0,
    "machines": [
        machine("m1", "bare"),
        machine("m2", "hypervisor"),
        machine("small", "hypervisor", cores=4, memory_gib=8),
        machine("flat", "bare"),
    ],
    **boot_volumes({s: WWPN.format(n) for s, n in SERVERS.items()}),
}


@pytest.fixture
def cli(cli: Cli, lab: LabServer, tmp_path: Path) -> Cli:
    """The manager's CLI, the lab's machines added."""
    add_lab(cli, lab, tmp_path)
    return cli


def ok(cli: Cli, *args: str) -> str:
    done = cli(*args)
    assert done.code == 0, f"kanri {' '.join(args)}: {done.out}{done.err}"
    return done.out


def partitions_of(lab: LabServer, host: str) -> dict[str, tuple[str, str | None, str]]:
    """The lab's partitions of machine ``host``: system id -> (power, booted volume, boot
    progress)."""
    assert lab.lab is not None
    with lab.lab.lock:
        return {
            s.id: (s.power.value, s.booted_volume, s.boot.value)
            for s in lab.lab.systems()
            if getattr(s, "host", None) == host
        }


def running(lab: LabServer, host: str) -> dict[str, str | None]:
    """system id -> the volume its OS runs from, for the running partitions of ``host``."""
    return {
        sid: volume
        for sid, (power, volume, boot) in partitions_of(lab, host).items()
        if power == "On" and boot == "OSRunning"
    }


def heartbeats(lab: LabServer) -> dict[str, tuple[str, str | None, str | None]]:
    """Every lab partition's (power, host, ``Oem.KanriLab.BootVolume``) read through the
    lab's Redfish service: the heartbeat of the OS it booted, None when none runs."""
    auth = ("admin", "password")
    with httpx.Client(base_url=lab.url, auth=auth, timeout=10) as http:
        members = http.get("/redfish/v1/Systems").json()["Members"]
        found = {}
        for member in members:
            body = http.get(member["@odata.id"]).json()
            oem = body.get("Oem", {}).get("KanriLab", {})
            if "Host" in oem:
                found[body["Id"]] = (body["PowerState"], oem["Host"], oem.get("BootVolume"))
        return found


def system_of(cli: Cli, partition: str) -> str:
    found = cli.json("machine", "show", partition)
    return str(found["system_id"])


def test_a_layout_restored_elsewhere_boots_exactly_what_ran(cli: Cli, lab: LabServer) -> None:
    # 1. a bare machine becomes a hypervisor
    ok(cli, "machine", "mode", "lab-m1", "hypervisor", "--wait", "--timeout", "40")

    # 2. carve: one partition per server
    for server in SERVERS:
        ok(cli, "partition", "create", f"p-{server}", "--host", "lab-m1", "--cores", "2",
           "--memory", "8G", "--port", "fc0:shared")  # fmt: skip

    # 3. servers, each with its own volume, placed; a runs, b never starts, c is stopped
    for server, n in SERVERS.items():
        ok(cli, "server", "add", server, "--boot-volume", f"SAN/vol-{server}", "--cores", "2",
           "--memory", "8G", "--wwpn", f"fc0={WWPN.format(n)}")  # fmt: skip
        ok(cli, "server", "place", server, f"p-{server}")
    for server in ("srv-a", "srv-c"):
        ok(cli, "server", "power", "on", server, "--wait", "--timeout", "60")
    on_m1 = {system_of(cli, f"p-{s}"): f"vol-{s}" for s in ("srv-a", "srv-c")}
    wait_for(lambda: running(lab, "m1") == on_m1, timeout=30)

    # 4. the layout is exported (an operator's copy, taken while c still ran)
    exported = Path(cli.data_dir).parent / "m1-layout.yaml"
    ok(cli, "layout", "export", "lab-m1", "--output", str(exported))
    assert "p-srv-c: running" in exported.read_text()
    ok(cli, "server", "power", "off", "srv-c", "--wait", "--timeout", "60")  # the operator
    wait_for(lambda: set(running(lab, "m1")) == {system_of(cli, "p-srv-a")}, timeout=30)

    # 5. the host loses power: kanri freezes its run states
    lost = lab_cli("inject", "power-loss", "m1", url=lab.url)
    assert lost.code == 0, lost.err

    def snapshots() -> list[dict[str, Any]]:
        return list(cli.json("snapshot", "list", "--host", "lab-m1"))

    wait_for(lambda: len(snapshots()) == 1, timeout=30)
    (snap,) = snapshots()
    assert (snap["cause"], snap["to_start"], snap["restored_at"]) == (
        "host_failed",
        ["p-srv-a"],
        None,
    )
    assert running(lab, "m1") == {}

    # 6. the exported file comes back as a layout and is applied elsewhere
    imported = ok(cli, "layout", "import", str(exported), "--name", "web")
    assert "layout web: version 1" in imported
    bare = cli("layout", "apply", "web", "--to", "lab-flat", "--restore-states")
    assert bare.code == 4, bare.out + bare.err
    assert "lab-flat: it is in bare mode" in bare.err
    small = cli("layout", "apply", "web", "--to", "lab-small", "--restore-states")
    assert small.code == 4, small.out + small.err
    assert "cannot be applied to lab-small" in small.err
    assert "memory" in small.err
    assert partitions_of(lab, "flat") == {}
    assert partitions_of(lab, "small") == {}
    assert cli.json("partition", "list", "--host", "lab-small") == []

    applied = cli("layout", "apply", "web", "--to", "lab-m2", "--restore-states", "--wait")
    assert applied.code == 0, applied.out + applied.err

    # 7. exactly the server that ran boots its own volume on m2; the others stay off
    wait_for(lambda: list(running(lab, "m2").values()) == ["vol-srv-a"], timeout=30)
    on_m2 = partitions_of(lab, "m2")
    assert len(on_m2) == 3, on_m2
    assert sorted(power for power, _, _ in on_m2.values()) == ["Off", "Off", "On"]
    for server in SERVERS:
        shown = cli.json("server", "show", server)
        assert (shown["placed_on"], shown["host"]) == (f"lab-m2-p-{server}", "lab-m2"), shown
        assert system_of(cli, shown["placed_on"]) in on_m2
    (snap,) = snapshots()
    assert snap["restored_at"] is not None  # restored elsewhere: m1's return starts nothing
    # the OS heartbeats, as the lab's Redfish service reports them
    beats = heartbeats(lab)
    booted = {sid: beat for sid, beat in beats.items() if beat[2] is not None}
    assert list(booted.values()) == [("On", "m2", "vol-srv-a")], beats
    assert sorted(power for power, host, _ in beats.values() if host == "m2") == [
        "Off",
        "Off",
        "On",
    ]
    violations = lab_cli("violations", url=lab.url)  # exit 1 on a volume used twice
    assert violations.code == 0, violations.out + violations.err
    # m1's partitions are not to come back: their servers run on m2
    left = {s["partition"]: s["state"] for s in cli.json("partition", "states", "lab-m1")}
    assert left == {
        "p-srv-a": "stopped_by_operator",  # moved by the apply
        "p-srv-b": "off",
        "p-srv-c": "stopped_by_operator",
    }
