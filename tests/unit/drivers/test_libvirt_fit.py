"""The pool the libvirt driver reads from its domains and the domain's capacity check on it
(libvirt checks none), its live-change rule, and how ports become devices and vHBAs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.partitions import CpuMode, PartitionSpec, Pool, PortKind, PortUse
from kanri.domain.pools import place
from kanri.drivers.libvirt import fit, ports
from kanri.drivers.libvirt.domxml import KIB_PER_GIB, DeviceUse, DomainFacts, NicDevice, PciDevice
from kanri.drivers.libvirt.hostxml import HostPort

HOST = fit.HostFacts(
    "kvm-1",
    8,
    32,
    (
        HostPort("eno1", PortKind.NIC, "3c:ec:ef:00:00:01"),
        HostPort("eno2", PortKind.NIC, "3c:ec:ef:00:00:02"),
        HostPort(
            "fc0",
            PortKind.FC,
            "21:00:00:24:ff:00:00:05",
            max_shared=2,
            pci="pci:0000:05:00.0",
            wwnn="20:00:00:24:ff:00:00:05",
        ),
        HostPort("fc1", PortKind.FC, "21:00:00:24:ff:00:00:06", max_shared=0),
    ),
)


def domain(
    spec: PartitionSpec, pins: tuple[int, ...], devices: tuple[DeviceUse, ...] = ()
) -> DomainFacts:
    return DomainFacts(
        name=spec.name,
        spec=spec,
        vcpus=spec.cores,
        max_vcpus=HOST.cpus,
        pins=tuple(frozenset({c}) for c in pins),
        shares=spec.shared_weight if spec.cpu_mode is CpuMode.SHARED else None,
        memory_kib=spec.memory_gib * KIB_PER_GIB,
        devices=devices,
    )


DB = PartitionSpec("db", 2, 8, ports=(PortUse("eno1"), PortUse("fc0", shared=True)))
WEB = PartitionSpec("web", 2, 4, cpu_mode=CpuMode.SHARED)


def busy() -> Pool:
    return fit.build_pool(HOST, [domain(DB, (0, 1)), domain(WEB, (2, 3))])


def test_the_pool_counts_what_domains_hold() -> None:
    pool = busy()
    assert (pool.cores, pool.memory_gib, pool.memory_used_gib) == (8, 32, 12)
    assert pool.dedicated_cores == frozenset({0, 1})
    assert pool.core_use[:5] == (("db",), ("db",), ("web",), ("web",), ())
    by_id = {p.id: p for p in pool.ports}
    assert by_id["eno1"].dedicated_to == "db"
    assert by_id["fc0"].shared_by == ("db",)
    assert (by_id["fc1"].max_shared, by_id["eno2"].dedicated_to) == (0, None)


def test_a_foreign_domain_counts_by_its_devices_and_pins() -> None:
    foreign = DomainFacts(
        "old",
        None,
        1,
        1,
        (frozenset({7}),),
        None,
        KIB_PER_GIB + 1,  # a little over 1 GiB holds 2
        (DeviceUse("pci:0000:05:00.0", dedicated=True), DeviceUse("eno2", dedicated=False)),
    )
    pool = fit.build_pool(HOST, [foreign])
    assert pool.dedicated_cores == frozenset({7})  # pinned one per core: held like dedicated
    assert pool.memory_used_gib == 2
    by_id = {p.id: p for p in pool.ports}
    assert by_id["fc0"].dedicated_to == "old"
    assert by_id["eno2"].shared_by == ("old",)


def test_shared_partitions_pack_onto_shared_cores_and_dedicated_take_free_ones() -> None:
    pool = busy()
    assert place(pool, PartitionSpec("s", 3, 1, cpu_mode=CpuMode.SHARED)) == (2, 3, 4)
    assert place(pool, PartitionSpec("d", 3, 1)) == (4, 5, 6)
    # the cores it has now are kept where they still fit
    assert place(pool, PartitionSpec("d", 2, 1), prefer=(7, 0)) == (4, 7)
    assert place(pool, PartitionSpec("d", 2, 1, cpus=(6, 5))) == (6, 5)  # named: as given


def test_what_does_not_fit_names_what_is_free_and_who_holds_it() -> None:
    pool = busy()
    with pytest.raises(Conflict) as cores:
        place(pool, PartitionSpec("x", 5, 1))
    assert str(cores.value) == (
        "kvm-1 cannot hold partition x: cores: 5 dedicated asked, 4 free "
        "(2 dedicated to db, 2 used by shared partitions)"
    )
    with pytest.raises(Conflict) as memory:
        place(pool, PartitionSpec("x", 1, 21))
    assert str(memory.value) == "kvm-1 cannot hold partition x: memory: 21 GiB asked, 20 GiB free"
    with pytest.raises(Conflict, match=r"core 1 asked shared, dedicated to db$"):
        place(pool, PartitionSpec("x", 1, 1, cpu_mode=CpuMode.SHARED, cpus=(1,)))
    with pytest.raises(Conflict, match=r"core 2 asked dedicated, shared by web$"):
        place(pool, PartitionSpec("x", 1, 1, cpus=(2,)))
    with pytest.raises(Invalid, match=r"core 8 asked, kvm-1 has cores 0-7$"):
        place(pool, PartitionSpec("x", 1, 1, cpus=(8,)))


def test_a_core_takes_at_most_four_shared_partitions() -> None:
    sharers = [
        domain(PartitionSpec(f"s{i}", 8, 1, cpu_mode=CpuMode.SHARED), tuple(range(8)))
        for i in range(4)
    ]
    pool = fit.build_pool(HOST, sharers)
    with pytest.raises(Conflict, match="0 can take another shared partition"):
        place(pool, PartitionSpec("s5", 1, 1, cpu_mode=CpuMode.SHARED))


@pytest.mark.parametrize(
    ("use", "words"),
    [
        (PortUse("eno1", shared=True), "port eno1: shared asked, dedicated to db$"),
        (PortUse("fc0"), "port fc0: dedicated asked, shared by db$"),
        # fc1's HBA has no NPIV: no virtual ports at all
        (PortUse("fc1", shared=True), r"port fc1: shared asked, it has no virtual ports"),
    ],
)
def test_ports_taken_are_refused(use: PortUse, words: str) -> None:
    with pytest.raises(Conflict, match=words):
        place(busy(), PartitionSpec("x", 1, 1, ports=(use,)))


def test_a_port_full_of_virtual_ports_and_an_unknown_port() -> None:
    pool = fit.build_pool(
        HOST,
        [
            domain(DB, (0, 1)),
            domain(replace(DB, name="db2", ports=(PortUse("fc0", True),)), (2, 3)),
        ],
    )
    with pytest.raises(Conflict, match="all 2 virtual ports in use"):
        place(pool, PartitionSpec("x", 1, 1, ports=(PortUse("fc0", shared=True),)))
    with pytest.raises(
        NotFound, match=r"kvm-1 has no such port \(its ports: eno1, eno2, fc0, fc1\)"
    ):
        place(pool, PartitionSpec("x", 1, 1, ports=(PortUse("fc7"),)))


def test_live_changes_and_what_needs_the_partition_off() -> None:
    running = domain(replace(DB, cpus=(0, 1)), (0, 1))
    fit.require_live(running, replace(DB, cores=4, shared_weight=7), (0, 1))  # fine
    # a new identity is presented from the next boot: not a change that needs it off
    fit.require_live(
        running,
        replace(DB, ports=(PortUse("eno1", identity="02:00:00:00:00:01"), DB.ports[1])),
        (0, 1),
    )
    with pytest.raises(Conflict) as off:
        fit.require_live(running, replace(DB, cores=1, memory_gib=9), (0, 1))
    assert str(off.value) == (
        "partition db is On: changing memory (8 to 9 GiB), cores (2 to 1: fewer) need it Off "
        "(adding cores and changing SharedWeight work while it runs); shut it down first"
    )
    for change, words in [
        (replace(DB, cores=9), "beyond its maximum 8"),
        (replace(DB, cpu_mode=CpuMode.SHARED), "cpu mode"),
        (replace(DB, ports=()), "ports"),
        (replace(DB, cpus=(5, 6)), "pinned cores"),
    ]:
        with pytest.raises(Conflict, match=words):
            fit.require_live(running, change, (0, 1))


def test_ports_become_devices_and_vhbas() -> None:
    spec = PartitionSpec(
        "db",
        1,
        1,
        ports=(PortUse("eno1"), PortUse("eno2", True), PortUse("fc0", True), PortUse("fc1", False)),
    )
    host = replace(HOST, ports=(*HOST.ports[:3], replace(HOST.ports[3], pci="pci:0000:06:00.1")))
    plan = ports.plan_ports("kvm-1", host.ports, spec)
    mac = ports.virtual_mac("kvm-1", "db", "eno2")
    wwpn = ports.virtual_wwpn("kvm-1", "db", "fc0")
    assert plan.devices == (
        NicDevice("eno1", "3c:ec:ef:00:00:01", dedicated=True),  # the port's own MAC
        NicDevice("eno2", mac, dedicated=False),
        PciDevice("fc1", 0, 6, 0, 1),
    )
    assert plan.vhbas == (
        ports.Vhba(
            "kanri-db-fc0",
            ("20:00:00:24:ff:00:00:05", "21:00:00:24:ff:00:00:05"),
            wwpn,
            "20:00:" + wwpn[6:],
        ),
    )
    # the spec back has the shared ports' identities filled in, the dedicated ones not
    assert [u.identity for u in plan.spec.ports] == [None, mac, wwpn, None]
    assert mac.startswith("52:54:00:")
    assert wwpn.startswith("21:00:")
    assert ports.plan_ports("kvm-1", host.ports, spec) == plan  # stable


def test_identities_asked_are_checked_and_kept() -> None:
    asked = PartitionSpec(
        "db",
        1,
        1,
        ports=(
            PortUse("eno2", True, "02:AA:00:00:00:01"),
            PortUse("fc0", True, "2a:00:00:00:00:00:00:01"),
        ),
    )
    plan = ports.plan_ports("kvm-1", HOST.ports, asked)
    assert [u.identity for u in plan.spec.ports] == ["02:aa:00:00:00:01", "2a:00:00:00:00:00:00:01"]
    with pytest.raises(Invalid, match="is not a WWPN"):
        ports.plan_ports(
            "kvm-1", HOST.ports, replace(asked, ports=(PortUse("fc0", True, "02:aa:00:00:00:01"),))
        )
    with pytest.raises(Invalid, match="is not a MAC"):
        ports.plan_ports(
            "kvm-1", HOST.ports, replace(asked, ports=(PortUse("eno1", False, "nope"),))
        )
    with pytest.raises(Invalid, match="presents its HBA's own WWPN"):
        ports.plan_ports(
            "kvm-1",
            HOST.ports,
            replace(asked, ports=(PortUse("fc0", False, "2a:00:00:00:00:00:00:01"),)),
        )
    with pytest.raises(Invalid, match="no PCI function"):
        ports.plan_ports("kvm-1", HOST.ports, replace(asked, ports=(PortUse("fc1"),)))
