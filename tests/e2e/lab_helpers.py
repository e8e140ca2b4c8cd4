"""The lab as the end-to-end tests use it: a hypervisor host with partitions, the lab's
machines added to a manager through the CLI, and what the lab's own history and state
say happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli

PARTITION = {"host": "hv", "cores": 2, "memory_gib": 8, "ports": ["fc0:shared"]}


def machine(
    system_id: str, mode: str, cores: int = 16, memory_gib: int = 64, power: str = "On"
) -> dict[str, Any]:
    """A lab machine config: ``mode`` "bare" or "hypervisor"."""
    return {"id": system_id, "mode": mode, "cores": cores, "memory_gib": memory_gib, "power": power}


def boot_volumes(initiators: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The lab's SAN for ``name -> initiator``: for each, a 1 GiB volume ``vol-<name>``
    that host group ``hg-<name>`` maps to that initiator as LUN 0."""
    return {
        "volumes": [{"id": f"vol-{n}", "size_gib": 1} for n in initiators],
        "host_groups": [
            {"id": f"hg-{n}", "initiators": [i], "luns": {0: f"vol-{n}"}}
            for n, i in initiators.items()
        ],
    }


def hypervisor_lab(
    scale: float,
    running: Sequence[str] = (),
    stopped: Sequence[str] = (),
    servers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A lab config: a hypervisor host "hv" (16 cores, 64 GiB, on) and its partitions,
    ``running`` ones on and ``stopped`` ones off. Each partition has 2 cores, 8 GiB and a
    shared FC port through which it boots its own 1 GiB volume ``vol-<id>`` (host group
    ``hg-<id>``). ``servers`` (name -> WWPN) adds a volume ``vol-<name>`` for each,
    mapped to its WWPN (host group ``hg-<name>``)."""
    parts = [*((p, True) for p in running), *((p, False) for p in stopped)]
    return {
        "scale": scale,
        "machines": [machine("hv", "hypervisor")],
        "partitions": [
            {**PARTITION, "id": p, "power": "On"} if on else {**PARTITION, "id": p}
            for p, on in parts
        ],
        **boot_volumes({**{p: f"{p}/fc0" for p, _ in parts}, **(servers or {})}),
    }


def add_lab(cli: Cli, lab: LabServer, tmp_path: Path, name: str = "lab") -> None:
    """``kanri machine add NAME`` with the lab's BMC: every lab system becomes a machine."""
    password = tmp_path / "lab-password"
    password.write_text("password\n")
    password.chmod(0o600)
    added = cli("machine", "add", name, "--bmc", lab.url, "--user", "admin",
                "--password-file", str(password))  # fmt: skip
    assert added.code == 0, added.err


def last_seq(lab: LabServer) -> int:
    """The number of the lab's latest history record (0 when there is none yet)."""
    assert lab.lab is not None
    records = lab.lab.history.since(0)
    return records[-1].seq if records else 0


def history(
    lab: LabServer, kind: str, since: int = 0, systems: Collection[str] | None = None
) -> list[str]:
    """The lab systems that each ``kind`` record after ``since`` names, in order; only
    those of ``systems`` when given."""
    assert lab.lab is not None
    named = [r.data.get("system") for r in lab.lab.history.since(since) if r.kind == kind]
    return [s for s in named if s is not None and (systems is None or s in systems)]


def power_commands(lab: LabServer, systems: Sequence[str], since: int = 0) -> dict[str, int]:
    """How many power commands each of ``systems`` got after ``since`` (the lab's own
    count: what the BMC received, whatever the manager believes it sent)."""
    counted = Counter(history(lab, "power.command", since, systems))
    return {s: counted[s] for s in systems}


def power_of(lab: LabServer, system_id: str) -> str:
    """A lab system's power state ("On", "Off", ...)."""
    assert lab.lab is not None
    with lab.lab.lock:
        return lab.lab.system(system_id).power.value


def os_running(lab: LabServer, *systems: str) -> bool:
    """Whether all of ``systems`` have booted an OS (a graceful stop needs one)."""
    assert lab.lab is not None
    with lab.lab.lock:
        return all(lab.lab.system(s).boot.value == "OSRunning" for s in systems)


def system_state(lab: LabServer, system_id: str) -> tuple[str, str | None, str]:
    """(power, booted volume, boot progress) of one lab system."""
    assert lab.lab is not None
    with lab.lab.lock:
        s = lab.lab.system(system_id)
        return s.power.value, s.booted_volume, s.boot.value


def os_booted_from(lab: LabServer, system_id: str, volume: str) -> Callable[[], bool]:
    """For ``wait_for``: whether the lab system runs an OS booted from ``volume``."""
    return lambda: system_state(lab, system_id)[1:] == (volume, "OSRunning")
