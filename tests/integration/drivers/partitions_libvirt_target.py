"""The partitions contract suite's target for the libvirt driver: libvirt's test driver
on tests/integration/fixtures/libvirt/host.xml (16 CPUs, 64 GiB for partitions, nic0 nic1
fc0 fc1). Every open of a ``test:///file`` URI is a private fresh host, and the suite
makes one Drivers (so one connection) per test: each test starts from an empty host."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import libvirt
import pytest

from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.libvirt import LibvirtPartitions
from kanri.drivers.libvirt.domxml import alias_of, parse
from kanri.drivers.libvirt.hostxml import pool_wwpn
from kanri.drivers.libvirt.ports import pool_name
from kanri.drivers.registry import Drivers

if TYPE_CHECKING:
    from tests.integration.drivers.test_partitions_contract import Target

HOST_XML = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "host.xml"
URL = f"test://{HOST_XML}"


def presented(conn: libvirt.virConnect, system: str, port: str) -> str | None:
    """What a running partition's port presents now: its vHBA's WWPN while the pool runs,
    or its interface's MAC while the domain runs; None when nothing is presented."""
    try:
        pool = conn.storagePoolLookupByName(pool_name(system, port))
    except libvirt.libvirtError:
        pool = None
    if pool is not None:
        return pool_wwpn(pool.XMLDesc(0)) if pool.isActive() else None
    dom = conn.lookupByName(system)
    if not dom.isActive():
        return None
    for iface in parse(dom.XMLDesc(0)).findall("./devices/interface"):
        alias = iface.find("alias")
        mac = iface.find("mac")
        if alias is not None and alias.get("name") == alias_of(port) and mac is not None:
            return mac.get("address")
    return None


def libvirt_target(request: pytest.FixtureRequest, drivers: Drivers) -> Target:
    from tests.integration.drivers.test_partitions_contract import Target

    bmc = Bmc(URL, "", "")
    parts = cast(LibvirtPartitions, drivers.partitions("libvirt"))
    conn = parts.connections.get(bmc)
    # The registered power driver: it shares the partitions driver's connection.
    power = drivers.power("libvirt")

    def act(system: str, action: PowerAction, state: PowerState) -> None:
        power.set_power(bmc, system, action)
        assert power.get_power(bmc, system) is state  # the test driver acts at once

    def on(system: str) -> None:
        act(system, PowerAction.ON, PowerState.ON)

    def off(system: str) -> None:
        act(system, PowerAction.FORCE_OFF, PowerState.OFF)

    def no_boot(machine: str) -> None:
        raise AssertionError(f"libvirt hosts have no modes to boot into ({machine})")

    return Target(
        "libvirt",
        bmc,
        conn.getHostname(),
        None,  # a KVM host is always a hypervisor: no bare machine
        no_boot,
        on,
        off,
        lambda system, port: presented(conn, system, port),
    )
