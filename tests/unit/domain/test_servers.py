"""Server identities: checked, generated in kanri's ranges, unique; what a target lacks."""

from __future__ import annotations

import pytest

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.partitions import PartitionSpec, PortKind, PortUse
from kanri.domain.servers import (
    Identity,
    Server,
    check_unique,
    fit_machine,
    fit_partition,
    generate,
    make_identity,
    normalize,
)


@pytest.mark.parametrize(
    ("given", "kind", "want"),
    [
        ("20-00-00-6B-00-01-00-00", PortKind.FC, "20:00:00:6b:00:01:00:00"),
        ("2000006b00010000", None, "20:00:00:6b:00:01:00:00"),
        ("02:6B:00:00:00:01", PortKind.NIC, "02:6b:00:00:00:01"),
    ],
)
def test_normalize(given: str, kind: PortKind | None, want: str) -> None:
    assert normalize(given, kind, "x") == want


@pytest.mark.parametrize(
    ("given", "kind", "says"),
    [
        ("20:00:00:6b:00:01:00", PortKind.FC, "not a WWPN"),
        ("02:6b:00:00:00:01", PortKind.FC, "not a WWPN"),
        ("20:00:00:6b:00:01:00:00", PortKind.NIC, "not a MAC"),
        ("00:00:00:00:00:00:00:00", None, "all zeros"),
        ("01:00:5e:00:00:01", None, "multicast"),
        ("zz:00:00:00:00:01", None, "not a WWPN"),
    ],
)
def test_normalize_refuses(given: str, kind: PortKind | None, says: str) -> None:
    with pytest.raises(Invalid, match=says):
        normalize(given, kind, "server x port p")


def test_generated_identities_are_deterministic_unique_and_in_range() -> None:
    a = generate("web-1", "fc0", 0, PortKind.FC, [])
    assert a == generate("web-1", "fc0", 0, PortKind.FC, [])
    assert a.startswith("2c:00:4b:41:")
    assert len(a.split(":")) == 8
    assert generate("web-1", "fc0", 0, PortKind.FC, [a]) != a  # probed on when taken
    mac = generate("web-1", "nic0", 1, PortKind.NIC, [])
    assert mac.startswith("0a:01:")
    assert len(mac.split(":")) == 6
    first = int(mac.split(":")[0], 16)
    assert first & 0b10
    assert not first & 0b01
    normalize(a, PortKind.FC, "x")
    normalize(mac, PortKind.NIC, "x")


def test_make_identity() -> None:
    ident = make_identity("web-1", {"fc1": "20:00:00:6b:00:01:00:01"}, {"fc0": PortKind.FC}, [])
    assert ident.ports["fc1"] == "20:00:00:6b:00:01:00:01"
    assert ident.ports["fc0"].startswith("2c:00:")
    assert ident.uuid == make_identity("web-1", {}, {}, []).uuid  # from the name
    assert ident.uuid != make_identity("web-2", {}, {}, []).uuid
    with pytest.raises(Invalid, match="not a UUID"):
        make_identity("web-1", {}, {}, [], uuid_text="nope")
    with pytest.raises(Invalid, match="not a port name"):
        make_identity("web-1", {"FC 0": "20:00:00:6b:00:01:00:01"}, {}, [])
    assert Identity.from_json(ident.to_json()) == ident


def test_check_unique() -> None:
    a = Server("a", Identity("u-a", {"fc0": "20:00:00:6b:00:01:00:00"}))
    b = Server("b", Identity("u-b", {"fc0": "20:00:00:6b:00:01:00:00"}))
    with pytest.raises(
        Conflict, match=r"server b: 20:00:00:6b:00:01:00:00 \(port fc0\) is already"
    ):
        check_unique(b, [a])
    twice = Server("c", Identity("u-c", {"fc0": "20:00:00:6b:00:01:00:09",
                                          "fc1": "20:00:00:6b:00:01:00:09"}))  # fmt: skip
    with pytest.raises(Conflict, match="both present"):
        check_unique(twice, [])
    with pytest.raises(Conflict, match="uuid u-a is a's"):
        check_unique(Server("d", Identity("u-a")), [a])
    check_unique(a, [a])  # itself is no other


def test_fit() -> None:
    server = Server("s", Identity("u", {"fc0": "20:00:00:6b:00:01:00:00"}), None, 4, 32)
    spec = PartitionSpec("p", cores=2, memory_gib=16, ports=(PortUse("nic0"),))
    assert fit_partition(server, spec) == [
        "cores: 4 needed, partition p has 2",
        "memory: 32 GiB needed, partition p has 16 GiB",
        "port fc0: partition p has no such port (its ports: nic0)",
    ]
    roomy = PartitionSpec("p", cores=4, memory_gib=32, ports=(PortUse("fc0", True),))
    assert fit_partition(server, roomy) == []
    assert fit_machine(server, 2, None) == ["cores: 4 needed, the machine has 2"]
    assert fit_machine(server, None, None) == []
