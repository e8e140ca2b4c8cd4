"""Partitions and modes through a real ``kanri serve`` against the lab: a bare machine is
switched to hypervisor mode as a job, carved into partitions (one refused, naming what
the pool lacks), a running one modified live, and one deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.e2e.lab_helpers import add_lab, machine, os_running
from tests.waiting import wait_for

LAB = {"scale": 20.0, "machines": [machine("bl", "bare", power="Off")]}


@pytest.fixture
def cli(cli: Cli, lab: LabServer, tmp_path: Path) -> Cli:
    """The manager's CLI, the lab's machines added as "bl"."""
    add_lab(cli, lab, tmp_path, name="bl")
    return cli


def get(server: KanriServer, path: str) -> Any:
    """Read through the API (cheaper than a CLI process for what only checks)."""
    headers = {"Authorization": f"Bearer {server.token}"}
    answer = httpx.get(f"{server.url}{path}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_mode_switch_then_carve_modify_and_delete(
    cli: Cli, lab: LabServer, kanri_server: KanriServer
) -> None:
    # a bare machine has no pool
    refused = cli("partition", "create", "app-1", "--host", "bl", "--cores", "4",
                  "--memory", "16G")  # fmt: skip
    assert refused.code == 4, refused.out + refused.err
    assert "bl is in bare mode" in refused.err

    switched = cli("machine", "mode", "bl", "hypervisor", "--wait", "--timeout", "120")
    assert switched.code == 0, switched.out + switched.err
    assert "verify bl is hypervisor done" in switched.out
    shown = get(kanri_server, "/api/v1/machines/bl")
    assert (shown["mode"], shown["pending_mode"]) == ("hypervisor", None)

    made = cli("partition", "create", "app-1", "--host", "bl", "--cores", "4",
               "--memory", "16G", "--port", "fc0:shared", "--port", "nic0")  # fmt: skip
    assert made.code == 0, made.out + made.err
    too_big = cli("partition", "create", "big", "--host", "bl", "--cores", "16",
                  "--memory", "64G")  # fmt: skip
    assert too_big.code == 4, too_big.out + too_big.err
    assert "bl cannot hold partition big" in too_big.err
    assert "cores: 16 dedicated asked, 12 free" in too_big.err
    shared = cli("partition", "create", "db-1", "--host", "bl", "--cores", "2",
                 "--memory", "8G", "--cpu-mode", "shared", "--weight", "200")  # fmt: skip
    assert shared.code == 0, shared.out + shared.err
    listed = get(kanri_server, "/api/v1/partitions?host=bl")
    assert [(p["name"], p["cores"], p["cpu_mode"]) for p in listed] == [
        ("app-1", 4, "dedicated"),
        ("db-1", 2, "shared"),
    ]
    pool = cli("machine", "pool", "bl")
    assert "cores 10 free of 16" in pool.out
    assert "app-1 (shared)" in pool.out  # fc0

    # live: more cores apply now, more memory waits for a restart
    wait_for(lambda: os_running(lab, "bl"), timeout=60)
    on = cli("power", "on", "app-1", "--wait")
    assert on.code == 0, on.out + on.err
    live = cli("partition", "modify", "app-1", "--cores", "6", "--memory", "24G")
    assert live.code == 0, live.out + live.err
    assert "applied now: cores 4 -> 6; needs a restart: memory 16 -> 24 GiB" in live.out
    kept = get(kanri_server, "/api/v1/partitions/app-1")
    assert (kept["cores"], kept["memory_gib"]) == (6, 16)
    strict = cli("partition", "modify", "app-1", "--memory", "24G", "--strict")
    assert strict.code == 4
    assert "need it off" in strict.err

    # delete: refused while on, then done; the machine goes with it
    on_delete = cli("partition", "delete", "app-1", "--yes")
    assert on_delete.code == 4
    assert "power it off first" in on_delete.err
    off = cli("power", "off", "app-1", "--force", "--wait")
    assert off.code == 0, off.out + off.err
    gone = cli("partition", "delete", "app-1", "--yes")
    assert gone.code == 0, gone.out + gone.err
    listed_now = cli("machine", "list")
    assert "hypervisor" in listed_now.out  # the MODE column
    assert "app-1" not in listed_now.out
    assert [p["name"] for p in get(kanri_server, "/api/v1/partitions")] == ["db-1"]

    # to bare is refused while a partition is left
    back = cli("machine", "mode", "bl", "bare")
    assert back.code == 4
    assert "bl has partitions db-1" in back.err
