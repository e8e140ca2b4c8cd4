"""Servers: an OS instance with an identity, a boot volume and the resources it needs,
placed on a bare machine or a partition (docs/partitions.md, "Servers"). Pure.

Identities kanri generates are deterministic (the same server name, port and taken set
give the same address) and unique among the servers kanri knows, in ranges that cannot
clash with burnt-in addresses or the lab's virtual ones:

- WWPN ``2c:{port index}:4b:41:{h}:{h}:{h}:{h}`` (NAA 2, ``4b:41`` is "KA")
- MAC ``0a:{port index}:{h}:{h}:{h}:{h}`` (locally administered, unicast)
- UUID ``uuid5(KANRI_NAMESPACE, name)``
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.naming import check_name
from kanri.domain.partitions import PartitionSpec, PortKind
from kanri.domain.states import PowerState

KANRI_NAMESPACE = uuid.UUID("6b616e72-6900-4d00-8000-736572766572")  # "kanri" / "server"
WWPN_PREFIX = "2c"  # then the port index, then 4b:41
MAC_PREFIX = "0a"  # locally administered (bit 1), unicast (bit 0 clear)
_HEX = re.compile(r"^[0-9a-f]+$")
_VOLUME = re.compile(r"^[A-Za-z0-9_.-]{1,63}/[A-Za-z0-9_.-]{1,63}$")
# What a port identity of a kind (None: either) is: its hex pairs, as an error names it.
IDENTITY_PAIRS: dict[PortKind | None, tuple[int, ...]] = {
    PortKind.FC: (8,),
    PortKind.NIC: (6,),
    None: (6, 8),
}
IDENTITY_NAMES: dict[PortKind | None, str] = {
    PortKind.FC: "a WWPN (8 hex pairs)",
    PortKind.NIC: "a MAC (6 hex pairs)",
    None: "a WWPN (8 hex pairs) or a MAC (6)",
}


@dataclass(frozen=True, slots=True)
class Identity:
    """What a server presents wherever it runs: its UUID and one WWPN or MAC per port."""

    uuid: str
    ports: Mapping[str, str] = field(default_factory=dict)  # "fc0" -> WWPN, "nic0" -> MAC

    def to_json(self) -> dict[str, object]:
        return {"uuid": self.uuid, "ports": dict(sorted(self.ports.items()))}

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Identity:
        ports = raw.get("ports") or {}
        assert isinstance(ports, Mapping)
        return cls(str(raw.get("uuid") or ""), {str(k): str(v) for k, v in ports.items()})


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    identity: Identity
    boot_volume: str | None = None  # "array/volume"
    cores: int | None = None  # what it needs; None: anything
    memory_gib: int | None = None
    desired_power: PowerState = PowerState.OFF
    placed_on: str | None = None  # the machine (bare or partition) it is placed on


def kind_of(identity: str) -> PortKind:
    """FC for a WWPN (8 pairs), NIC for a MAC (6 pairs)."""
    return PortKind.FC if len(identity.split(":")) == 8 else PortKind.NIC


def normalize(identity: str, kind: PortKind | None, where: str) -> str:
    """``identity`` lower-case with colons; :class:`Invalid` unless it is a WWPN (8 hex
    pairs, not all zero) or a MAC (6 hex pairs, unicast, not all zero), as ``kind`` wants.
    ``20-00-..``, ``20:00:..`` and ``2000..`` are the same WWPN."""
    text = identity.strip().lower().replace("-", ":")
    if ":" not in text and _HEX.match(text) and len(text) in (12, 16):
        text = ":".join(text[i : i + 2] for i in range(0, len(text), 2))
    pairs = text.split(":")
    if len(pairs) not in IDENTITY_PAIRS[kind] or not all(
        len(p) == 2 and _HEX.match(p) for p in pairs
    ):
        raise Invalid(f"{where}: {identity!r} is not {IDENTITY_NAMES[kind]}")
    if all(p == "00" for p in pairs):
        raise Invalid(f"{where}: {identity!r} is all zeros")
    if len(pairs) == 6 and int(pairs[0], 16) & 1:
        raise Invalid(f"{where}: {identity!r} is a multicast MAC; a port needs a unicast one")
    return text


def check_volume(volume: str | None, where: str) -> str | None:
    if volume is not None and not _VOLUME.match(volume):
        raise Invalid(f"{where}: boot volume {volume!r} is not ARRAY/VOLUME")
    return volume


def generate(name: str, port: str, index: int, kind: PortKind, taken: Iterable[str]) -> str:
    """A WWPN or MAC for ``name``'s ``port`` in kanri's range, not in ``taken``: the hash
    of the name and port, probed on from there until free (deterministic)."""
    used = set(taken)
    seed = int.from_bytes(hashlib.sha256(f"{name}/{port}".encode()).digest()[:4], "big")
    for probe in range(1 << 16):
        h = (seed + probe) & 0xFFFFFFFF
        tail = ":".join(f"{b:02x}" for b in h.to_bytes(4, "big"))
        if kind is PortKind.FC:
            made = f"{WWPN_PREFIX}:{index & 0xFF:02x}:4b:41:{tail}"
        else:
            made = f"{MAC_PREFIX}:{index & 0xFF:02x}:{tail}"
        if made not in used:
            return made
    raise Conflict(f"server {name} port {port}: no free identity left in kanri's range")


def make_identity(
    name: str,
    given: Mapping[str, str],
    generate_ports: Mapping[str, PortKind],
    taken: Iterable[str],
    uuid_text: str | None = None,
) -> Identity:
    """``given`` (port -> WWPN/MAC, checked) and one generated for each port of
    ``generate_ports`` (port -> kind) not given; ports are indexed in sorted order."""
    check_name(name)
    used = set(taken)
    ports: dict[str, str] = {}
    for port, value in given.items():
        _check_port(port, name)
        ports[port] = normalize(value, None, f"server {name} port {port}")
    for index, port in enumerate(sorted(set(given) | set(generate_ports))):
        if port in ports:
            continue
        _check_port(port, name)
        ports[port] = generate(name, port, index, generate_ports[port], used | set(ports.values()))
    made = uuid_text if uuid_text is not None else str(uuid.uuid5(KANRI_NAMESPACE, name))
    try:
        made = str(uuid.UUID(made))
    except ValueError:
        raise Invalid(f"server {name}: uuid {uuid_text!r} is not a UUID") from None
    return Identity(made, ports)


def _check_port(port: str, server: str) -> None:
    if not re.match(r"^[a-z][a-z0-9_-]{0,31}$", port):
        raise Invalid(f"server {server}: port {port!r} is not a port name (like fc0, nic1)")


def check_unique(server: Server, others: Iterable[Server]) -> None:
    """:class:`Conflict` when ``server`` presents an identity twice, or one another
    server presents (two servers with one WWPN would see each other's volumes)."""
    seen: dict[str, str] = {}
    for port, value in server.identity.ports.items():
        if value in seen:
            raise Conflict(
                f"server {server.name}: ports {seen[value]} and {port} both present {value}"
            )
        seen[value] = port
    for other in others:
        if other.name == server.name:
            continue
        if other.identity.uuid == server.identity.uuid:
            raise Conflict(f"server {server.name}: uuid {server.identity.uuid} is {other.name}'s")
        for port, value in other.identity.ports.items():
            if value in seen:
                raise Conflict(
                    f"server {server.name}: {value} (port {seen[value]}) is already "
                    f"server {other.name}'s port {port}"
                )


def fit_partition(server: Server, spec: PartitionSpec) -> list[str]:
    """What ``spec`` lacks for ``server``, one line each (empty: it fits): cores, memory
    and every port the server presents an identity on."""
    lacks: list[str] = []
    if server.cores is not None and spec.cores < server.cores:
        lacks.append(f"cores: {server.cores} needed, partition {spec.name} has {spec.cores}")
    if server.memory_gib is not None and spec.memory_gib < server.memory_gib:
        lacks.append(
            f"memory: {server.memory_gib} GiB needed, partition {spec.name} has "
            f"{spec.memory_gib} GiB"
        )
    has = sorted(p.port for p in spec.ports)
    for port in sorted(server.identity.ports):
        if port not in has:
            lacks.append(
                f"port {port}: partition {spec.name} has no such port "
                f"(its ports: {', '.join(has) or 'none'})"
            )
    return lacks


def fit_machine(server: Server, cores: int | None, memory_gib: int | None) -> list[str]:
    """What a bare machine lacks for ``server`` (what the machine does not report is not
    held against it)."""
    lacks: list[str] = []
    if server.cores is not None and cores is not None and cores < server.cores:
        lacks.append(f"cores: {server.cores} needed, the machine has {cores}")
    if server.memory_gib is not None and memory_gib is not None and memory_gib < server.memory_gib:
        lacks.append(f"memory: {server.memory_gib} GiB needed, the machine has {memory_gib} GiB")
    return lacks
