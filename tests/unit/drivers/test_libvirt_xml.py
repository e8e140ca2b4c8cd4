"""The libvirt driver's XML: kanri's spec to a domain and back, and a host's XML to facts."""

from __future__ import annotations

import pytest

from kanri.domain.partitions import CpuMode, PartitionSpec, PortKind, PortUse
from kanri.drivers.libvirt import domxml, hostxml

SPEC = PartitionSpec(
    "db-1",
    2,
    16,
    cpu_mode=CpuMode.SHARED,
    shared_weight=300,
    ports=(PortUse("nic0", shared=True, identity="52:54:00:00:00:01"), PortUse("fc0")),
    cpus=(4, 9),
)

# A domain someone else wrote: units, a domain-wide cpuset, a disk and a console kanri
# must keep, and a kanri interface from an earlier spec.
FOREIGN = """<domain type='kvm'>
  <name>old</name>
  <memory unit='MiB'>3072</memory>
  <vcpu placement='static' cpuset='0-3,^2' current='2'>4</vcpu>
  <cputune><shares>2048</shares><vcpupin vcpu='0' cpuset='5'/></cputune>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vda'/></disk>
    <interface type='direct'><mac address='52:54:00:12:34:56'/>
      <source dev='eno3' mode='passthrough'/><alias name='ua-kanri-eno3'/></interface>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x05' slot='0x00' function='0x1'/></source>
    </hostdev>
    <console type='pty'/>
  </devices>
</domain>"""


def test_the_spec_survives_metadata_exactly() -> None:
    back = domxml.spec_of_element(domxml.spec_element(SPEC))
    assert back == SPEC
    bare = PartitionSpec("x", 1, 1)
    assert domxml.spec_of_element(domxml.spec_element(bare)) == bare


def test_a_built_domain_reads_back_as_what_it_holds() -> None:
    root = domxml.skeleton("db-1", "kvm", "x86_64")
    devices = (domxml.NicDevice("nic0", "52:54:00:00:00:01", dedicated=False),)
    domxml.apply_spec(root, SPEC, (9, 4), devices, max_vcpus=16)
    facts = domxml.domain_facts(domxml.to_text(root))
    assert facts.spec == SPEC
    assert (facts.vcpus, facts.max_vcpus) == (2, 16)
    assert facts.pins == (frozenset({9}), frozenset({4}))  # in the order asked, per vCPU
    assert facts.shares == 300
    assert facts.memory_kib == 16 * 1024 * 1024
    assert facts.devices == (domxml.DeviceUse("nic0", dedicated=False, identity=SPEC_MAC),)
    assert root.find("./devices/interface/source").get("mode") == "bridge"  # type: ignore[union-attr]


SPEC_MAC = "52:54:00:00:00:01"


def test_a_dedicated_spec_has_no_shares_and_passthrough_devices() -> None:
    spec = PartitionSpec("d", 1, 1, ports=(PortUse("nic0"), PortUse("fc0")))
    root = domxml.skeleton("d", "kvm", "x86_64")
    devices = (
        domxml.NicDevice("nic0", "3c:ec:ef:00:00:01", dedicated=True),
        domxml.PciDevice("fc0", 0, 5, 0, 0),
    )
    domxml.apply_spec(root, spec, (3,), devices, max_vcpus=8)
    facts = domxml.domain_facts(domxml.to_text(root))
    assert facts.shares is None
    assert facts.devices == (
        domxml.DeviceUse("nic0", dedicated=True, identity="3c:ec:ef:00:00:01"),
        domxml.DeviceUse("pci:0000:05:00.0", dedicated=True),
    )


def test_facts_of_a_foreign_domain() -> None:
    facts = domxml.domain_facts(FOREIGN)
    assert facts.spec is None
    assert (facts.vcpus, facts.max_vcpus) == (2, 4)
    # vCPU 0 pinned; vCPU 1 takes the domain-wide cpuset 0-3 without 2
    assert facts.pins == (frozenset({5}), frozenset({0, 1, 3}))
    assert facts.memory_kib == 3 * 1024 * 1024
    assert facts.devices == (
        domxml.DeviceUse("eno3", dedicated=True, identity="52:54:00:12:34:56"),
        domxml.DeviceUse("pci:0000:05:00.1", dedicated=True),
    )
    spec = domxml.foreign_spec(facts)
    # not one vCPU per core: it floats over several, like a shared one
    assert (spec.cores, spec.memory_gib, spec.cpu_mode, spec.cpus) == (2, 3, CpuMode.SHARED, ())
    assert spec.shared_weight == 1000  # its shares, within kanri's range


def test_applying_a_spec_keeps_what_kanri_does_not_manage() -> None:
    root = domxml.parse(FOREIGN)
    domxml.apply_spec(root, PartitionSpec("old", 1, 2), (7,), (), max_vcpus=16)
    text = domxml.to_text(root)
    facts = domxml.domain_facts(text)
    assert facts.pins == (frozenset({7}),)
    assert facts.shares is None
    # the old kanri interface is gone, the disk, console and foreign hostdev stay
    assert [d.port for d in facts.devices] == ["pci:0000:05:00.1"]
    assert root.find("./devices/disk") is not None
    assert root.find("./devices/console") is not None
    assert root.find("./vcpu").get("cpuset") is None  # type: ignore[union-attr]


def test_set_mac_and_boot() -> None:
    root = domxml.skeleton("d", "kvm", "x86_64")
    nic = domxml.NicDevice("nic0", "52:54:00:00:00:01", dedicated=False)
    domxml.apply_spec(root, PartitionSpec("d", 1, 1), (0,), (nic,), max_vcpus=1)
    assert domxml.set_mac(root, "nic0", "02:00:00:00:00:09")
    assert not domxml.set_mac(root, "nic1", "02:00:00:00:00:09")
    assert domxml.domain_facts(domxml.to_text(root)).devices[0].identity == "02:00:00:00:00:09"
    domxml.set_boot(root, "network")
    assert [b.get("dev") for b in root.findall("./os/boot")] == ["network"]
    domxml.set_boot(root, None)
    assert root.findall("./os/boot") == []


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("3", {3}), ("0-3,^2,8", {0, 1, 3, 8}), ("", set()), ("1, 4-5", {1, 4, 5})],
)
def test_cpusets(text: str, cpus: set[int]) -> None:
    assert domxml.parse_cpuset(text) == cpus


def test_aliases_are_what_libvirt_accepts() -> None:
    assert domxml.alias_of("eno1") == "ua-kanri-eno1"
    assert domxml.alias_of("enp5s0f1.100") == "ua-kanri-enp5s0f1_100"


CAPS = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
  <guest><os_type>hvm</os_type>
    <arch name='i686'><domain type='qemu'/><domain type='kvm'/></arch></guest>
  <guest><os_type>hvm</os_type>
    <arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>
  <guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
</capabilities>"""


def test_guest_kind_prefers_kvm_on_the_hosts_arch() -> None:
    assert hostxml.guest_kind(CAPS) == hostxml.GuestKind("kvm", "x86_64")
    test_driver = CAPS.replace("kvm", "test").replace("qemu", "test")
    assert hostxml.guest_kind(test_driver) == hostxml.GuestKind("test", "x86_64")
    with pytest.raises(ValueError, match="no HVM"):
        hostxml.guest_kind("<capabilities><host/></capabilities>")


def test_only_physical_interfaces_are_nic_ports() -> None:
    eth = "<interface type='ethernet' name='eno1'><mac address='3C:EC:EF:00:00:01'/></interface>"
    assert hostxml.nic_port(eth) == hostxml.HostPort("eno1", PortKind.NIC, "3c:ec:ef:00:00:01")
    assert hostxml.nic_port(eth.replace("ethernet", "bridge")) is None
    assert hostxml.nic_port("<interface type='ethernet' name='eno2'/>") is None


def _fc(name: str, parent: str, vport: str) -> str:
    return f"""<device><name>{name}</name><parent>{parent}</parent>
      <capability type='scsi_host'><host>5</host>
        <capability type='fc_host'><wwnn>20000024ff000005</wwnn><wwpn>21000024FF000005</wwpn>
        </capability>{vport}</capability></device>"""


def test_fc_hosts_and_vhbas() -> None:
    npiv = "<capability type='vport_ops'><max_vports>64</max_vports><vports>1</vports></capability>"
    hba = hostxml.fc_host(_fc("scsi_host5", "pci_0000_05_00_0", npiv))
    assert hba is not None
    assert (hba.wwpn, hba.wwnn, hba.npiv, hba.max_vports) == (
        "21:00:00:24:ff:00:00:05",
        "20:00:00:24:ff:00:00:05",
        True,
        64,
    )
    port = hostxml.fc_port(hba, "pci:0000:05:00.0")
    assert port is not None
    assert (port.kind, port.max_shared, port.pci) == (PortKind.FC, 64, "pci:0000:05:00.0")
    # an HBA without vport_ops cannot be shared; the test driver's max_vports 0 can
    plain = hostxml.fc_host(_fc("scsi_host6", "pci_0000_06_00_0", ""))
    assert plain is not None
    assert hostxml.fc_port(plain, None).max_shared == 0  # type: ignore[union-attr]
    zero = hostxml.fc_host(_fc("scsi_host7", "pci_0000_07_00_0", npiv.replace("64", "0")))
    assert hostxml.fc_port(zero, None).max_shared == hostxml.DEFAULT_MAX_SHARED  # type: ignore[arg-type,union-attr]
    vhba = hostxml.fc_host(_fc("scsi_host9", "scsi_host5", ""))
    assert vhba is not None
    assert hostxml.fc_port(vhba, None) is None  # a vHBA is nobody's port
    assert hostxml.fc_host("<device><name>pci_0</name><capability type='pci'/></device>") is None


def test_fc_ports_are_numbered_by_pci_address() -> None:
    ports = [
        hostxml.HostPort(
            "scsi_host9", PortKind.FC, "21:00:00:00:00:00:00:02", pci="pci:0000:81:00.0"
        ),
        hostxml.HostPort(
            "scsi_host2", PortKind.FC, "21:00:00:00:00:00:00:01", pci="pci:0000:05:00.0"
        ),
    ]
    numbered = hostxml.number_fc_ports(ports)
    assert [(p.id, p.pci) for p in numbered] == [
        ("fc0", "pci:0000:05:00.0"),
        ("fc1", "pci:0000:81:00.0"),
    ]


def test_pci_address_and_wwns() -> None:
    pci = """<device><name>pci_0000_05_00_1</name><capability type='pci'>
      <domain>0</domain><bus>5</bus><slot>0</slot><function>1</function></capability></device>"""
    assert hostxml.pci_address(pci) == "pci:0000:05:00.1"
    assert hostxml.pci_address("<device><name>x</name></device>") is None
    assert hostxml.colon_wwn("0x1000000012341234") == "10:00:00:00:12:34:12:34"
    assert hostxml.plain_wwn("10:00:00:00:12:34:12:34") == "1000000012341234"


def test_a_vhba_pool_names_its_parent_by_wwn_and_reads_back() -> None:
    text = hostxml.pool_xml(
        "kanri-db-1-fc0",
        ("20:00:00:24:ff:00:00:05", "21:00:00:24:ff:00:00:05"),
        "20:00:aa:bb:cc:dd:ee:ff",
        "21:00:aa:bb:cc:dd:ee:ff",
        uuid="6f1c4bb0-0000-4000-8000-000000000001",
    )
    root = domxml.parse(text)
    adapter = root.find("./source/adapter")
    assert adapter is not None
    assert adapter.attrib == {
        "type": "fc_host",
        "parent_wwnn": "20000024ff000005",
        "parent_wwpn": "21000024ff000005",
        "wwnn": "2000aabbccddeeff",
        "wwpn": "2100aabbccddeeff",
    }
    assert root.findtext("uuid") == "6f1c4bb0-0000-4000-8000-000000000001"
    assert hostxml.pool_wwpn(text) == "21:00:aa:bb:cc:dd:ee:ff"
