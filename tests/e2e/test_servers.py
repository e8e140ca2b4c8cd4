"""A server placed on a partition through a real ``kanri serve`` and the lab: the
partition boots the server's own volume, found by the identity the SAN maps it to.
Refusals, unplace and remove are proven in tests/unit (each CLI call here costs a
interpreter start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli
from tests.e2e.lab_helpers import add_lab, hypervisor_lab, os_booted_from
from tests.waiting import wait_for

WWPN = "2c:00:4b:41:00:00:00:01"  # the server's, in kanri's range; the SAN maps vol-srv to it
LAB = hypervisor_lab(20.0, stopped=("p1",), servers={"srv": WWPN})


@pytest.fixture
def cli(cli: Cli, lab: LabServer, tmp_path: Path) -> Cli:
    """The manager's CLI, the lab's machines added."""
    add_lab(cli, lab, tmp_path)
    return cli


def test_a_server_placed_on_a_partition_boots_its_own_volume(cli: Cli, lab: LabServer) -> None:
    add = cli("server", "add", "srv-1", "--boot-volume", "SAN/vol-srv", "--cores", "2",
              "--memory", "8G", "--wwpn", f"fc0={WWPN}")  # fmt: skip
    assert add.code == 0, add.err
    place = cli("server", "place", "srv-1", "lab-p1")
    assert place.code == 0, place.err
    assert "partition lab-p1 of lab-hv" in place.out

    on = cli("server", "power", "on", "srv-1", "--wait", "--timeout", "60")
    assert on.code == 0, on.out + on.err
    wait_for(os_booted_from(lab, "p1", "vol-srv"), 30)

    show = cli("server", "show", "srv-1")
    assert show.code == 0, show.err
    for text in ("partition lab-p1 of lab-hv", WWPN, "SAN/vol-srv"):
        assert text in show.out
    assert "desired power  on" in show.out
