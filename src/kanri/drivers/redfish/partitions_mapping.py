"""Redfish composition documents to partition values, and Redfish refusals to domain
errors. Pure: plain JSON in, domain values out (the unit tests feed payloads straight in).

What is read (docs/lab/partitions.md, DMTF's composability model):

- a partition is a ComputerSystem with ``SystemType: VirtuallyPartitioned``; its layout is
  ``ProcessorSummary.CoreCount``, ``MemorySummary.TotalSystemMemoryGiB`` and
  ``Oem.KanriLab.{Host, CpuMode, SharedWeight, Ports}``; its cores are the ``Processor``
  blocks in ``Links.ResourceBlocks``;
- a pool is the host's ResourceZone: one ResourceBlock per core, memory block and port,
  each with ``CompositionStatus`` and ``Links.ComputerSystems`` (who holds it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kanri.domain.errors import Conflict, Invalid, KanriError, NotFound
from kanri.domain.partitions import (
    CpuMode,
    MachineMode,
    Partition,
    PartitionSpec,
    Pool,
    PoolPort,
    PortKind,
    PortUse,
)
from kanri.domain.servers import IDENTITY_NAMES, IDENTITY_PAIRS
from kanri.drivers.redfish.mapping import JsonDoc, MalformedAnswer, power_state_of

# The lab gives memory in blocks of 8 GiB (docs/lab/partitions.md). Its Memory blocks
# link no Memory resource with a CapacityMiB, so the size is the documented one.
LAB_MEMORY_BLOCK_GIB = 8
PARTITION_TYPE = "VirtuallyPartitioned"

_MODES = {"Bare": MachineMode.BARE, "Hypervisor": MachineMode.HYPERVISOR}
MODE_VALUES = {mode: name for name, mode in _MODES.items()}
_CPU_MODES = {"Dedicated": CpuMode.DEDICATED, "Shared": CpuMode.SHARED}
CPU_MODE_VALUES = {mode: name for name, mode in _CPU_MODES.items()}

# MessageIds (registry prefix and version left out) whose 409 means "the pool or the
# partition's state does not allow it": the engine shows the BMC's message as it is.
_CONFLICTS = {
    "ResourceExhaustion",
    "ResourceBlockInUse",
    "PropertyValueResourceConflict",
    "ResourceInUse",
    "ResourceAlreadyExists",
    "NoResourceMatch",
    "ActionNotSupported",
}


def last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _message_id(body: Any) -> str:
    """``Base.1.22.ResourceExhaustion`` -> ``ResourceExhaustion``."""
    if not isinstance(body, dict):
        return ""
    info = body.get("@Message.ExtendedInfo")
    first = info[0] if isinstance(info, list) and info and isinstance(info[0], dict) else {}
    message_id = first.get("MessageId") or body.get("code") or ""
    return str(message_id).rsplit(".", 1)[-1]


def refusal(status: int, body: Any, message: str | None, asked: str) -> KanriError | None:
    """The domain error for a Redfish error answer, or None when it is not a refusal of
    the request (401/403, 5xx: the BMC's trouble, left to the driver errors).

    ``message`` is the BMC's (the lab's names the resource, what was asked and what is
    free); ``asked`` says what kanri asked, for answers that carry no message.
    """
    text = " ".join((message or "").split()) or f"{asked}: refused (HTTP {status})"
    kind = _message_id(body)
    if status in (404, 410):
        return NotFound(text)
    if status == 409 or kind in _CONFLICTS:
        return Conflict(text)
    if status in (400, 405, 422):
        return Invalid(text)
    return None


# partitions -------------------------------------------------------------------------------
def is_partition_of(doc: JsonDoc, host: str | None) -> bool:
    """Whether ``doc`` is a partition (of ``host`` when given)."""
    if doc.get("SystemType") != PARTITION_TYPE:
        return False
    return host is None or _oem(doc).get("Host") == host


def _oem(doc: JsonDoc) -> dict[str, Any]:
    oem = doc.get("Oem")
    ours = oem.get("KanriLab") if isinstance(oem, dict) else None
    return ours if isinstance(ours, dict) else {}


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise MalformedAnswer(f"{what} is not a whole number: {value!r}")
    return int(value)


def core_index(block_id: str, host: str) -> int | None:
    """The core a Processor block of ``host`` holds: the lab names blocks
    ``{host}-cpu-{n}`` (docs/lab/partitions.md); None for any other name."""
    match = re.fullmatch(re.escape(host) + r"-cpu-(\d+)", block_id)
    return int(match.group(1)) if match else None


def partition_of(doc: JsonDoc, identities: dict[str, str] | None = None) -> Partition:
    """A partition document as a Partition; ``identities`` maps a shared port to the
    virtual WWPN/MAC configured on its function."""
    oem = _oem(doc)
    host = oem.get("Host")
    if not isinstance(host, str):
        raise MalformedAnswer(f"partition {doc.get('Id')} names no Oem.KanriLab.Host")
    cores = _whole((doc.get("ProcessorSummary") or {}).get("CoreCount"), "CoreCount")
    memory = _whole(
        (doc.get("MemorySummary") or {}).get("TotalSystemMemoryGiB"), "TotalSystemMemoryGiB"
    )
    cpu_mode = _CPU_MODES.get(str(oem.get("CpuMode", "Dedicated")))
    if cpu_mode is None:
        raise MalformedAnswer(f"CpuMode {oem.get('CpuMode')!r} is not Dedicated or Shared")
    known = identities or {}
    ports: list[PortUse] = []
    for item in oem.get("Ports") or []:
        if not isinstance(item, dict) or not isinstance(item.get("Port"), str):
            raise MalformedAnswer(f"a port of Oem.KanriLab.Ports is not {{'Port': ...}}: {item!r}")
        shared = item.get("Shared") is True
        port = str(item["Port"])
        ports.append(PortUse(port, shared, known.get(port) if shared else None))
    blocks = (doc.get("Links") or {}).get("ResourceBlocks") or []
    cpus = sorted(
        i
        for b in blocks
        if isinstance(b, dict)
        and (i := core_index(last_segment(str(b.get("@odata.id", ""))), host)) is not None
    )
    spec = PartitionSpec(
        name=str(doc.get("Name") or doc.get("Id")),
        cores=cores,
        memory_gib=memory,
        cpu_mode=cpu_mode,
        shared_weight=_whole(oem.get("SharedWeight", 100), "SharedWeight"),
        ports=tuple(ports),
        cpus=tuple(cpus),
    )
    return Partition(str(doc.get("Id")), host, spec, power_state_of(doc))


def oem_layout(spec: PartitionSpec, host: str | None = None) -> dict[str, Any]:
    """``Oem.KanriLab`` of the OEM form: the lab picks the blocks."""
    body: dict[str, Any] = {
        "Cores": spec.cores,
        "MemoryGiB": spec.memory_gib,
        "CpuMode": CPU_MODE_VALUES[spec.cpu_mode],
        "SharedWeight": spec.shared_weight,
        "Ports": [{"Port": p.port, "Shared": p.shared} for p in spec.ports],
    }
    if host is not None:
        body = {"Host": host, **body}
    return {"Oem": {"KanriLab": body}}


# pools --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Block:
    """One ResourceBlock as read: what it holds and who uses it."""

    id: str
    path: str
    kind: str  # Processor | Memory | Network
    users: tuple[str, ...]
    shared: bool  # in shared use (SharingEnabled)
    max_compositions: int
    unavailable: bool  # CompositionState Unavailable: the host is not in hypervisor mode


def block_of(doc: JsonDoc) -> Block:
    types = doc.get("ResourceBlockType")
    # sushy reads this array as one value (None); the JSON is read instead.
    kind = types[0] if isinstance(types, list) and types else str(types or "")
    status = doc.get("CompositionStatus") or {}
    users = tuple(
        last_segment(str(s.get("@odata.id", "")))
        for s in (doc.get("Links") or {}).get("ComputerSystems") or []
        if isinstance(s, dict)
    )
    return Block(
        id=str(doc.get("Id")),
        path=str(doc.get("@odata.id")),
        kind=str(kind),
        users=users,
        shared=status.get("SharingEnabled") is True,
        max_compositions=_whole(status.get("MaxCompositions", 1), "MaxCompositions"),
        unavailable=status.get("CompositionState") == "Unavailable",
    )


def port_key(block: Block, host: str) -> str:
    """The port id a Network block of the lab holds (``{host}-port-{port}``)."""
    return block.id.removeprefix(f"{host}-port-")


@dataclass(frozen=True, slots=True)
class Function:
    """A NetworkDeviceFunction: which port, whose, and its identities."""

    id: str
    path: str
    port: str
    kind: PortKind
    configured: str | None
    permanent: str | None
    presented: str | None
    virtual: bool


def function_of(doc: JsonDoc, owner: str) -> Function:
    """A function document; its port is its Id, or for ``owner``'s virtual function the
    Id without the ``{owner}-`` prefix (the lab's ``app-1-fc0``)."""
    fc = doc.get("FibreChannel")
    section: dict[str, Any] = fc if isinstance(fc, dict) else doc.get("Ethernet") or {}
    kind = PortKind.FC if isinstance(fc, dict) else PortKind.NIC
    address, permanent = ("WWPN", "PermanentWWPN") if fc else ("MACAddress", "PermanentMACAddress")
    oem = _oem(doc)
    function_id = str(doc.get("Id"))
    virtual = oem.get("Virtual") is True
    port = function_id.removeprefix(f"{owner}-") if virtual else function_id
    return Function(
        function_id,
        str(doc.get("@odata.id")),
        port,
        kind,
        section.get(address),
        section.get(permanent),
        oem.get("Presented"),
        virtual,
    )


def pool_of(host: str, blocks: Iterable[Block], functions: Iterable[Function]) -> Pool:
    """The pool a host's blocks make (no blocks: a bare machine, which has no pool)."""
    listed = list(blocks)
    if not listed:
        return Pool(host, MachineMode.BARE, cores=0, memory_gib=0)
    mode = MachineMode.BARE if any(b.unavailable for b in listed) else MachineMode.HYPERVISOR
    cpus = sorted(
        ((core_index(b.id, host), b) for b in listed if b.kind == "Processor"),
        key=lambda pair: -1 if pair[0] is None else pair[0],
    )
    core_use = tuple(b.users for _, b in cpus)
    dedicated = frozenset(i for i, (_, b) in enumerate(cpus) if b.users and not b.shared)
    memory = [b for b in listed if b.kind == "Memory"]
    by_port = {f.port: f for f in functions if not f.virtual}
    ports: list[PoolPort] = []
    for block in (b for b in listed if b.kind == "Network"):
        key = port_key(block, host)
        function = by_port.get(key)
        kind = (
            function.kind if function else (PortKind.FC if key.startswith("fc") else PortKind.NIC)
        )
        ports.append(
            PoolPort(
                key,
                kind,
                (function.permanent or function.configured or "") if function else "",
                dedicated_to=block.users[0] if block.users and not block.shared else None,
                shared_by=block.users if block.shared else (),
                max_shared=block.max_compositions,
            )
        )
    return Pool(
        host,
        mode,
        cores=len(cpus),
        memory_gib=len(memory) * LAB_MEMORY_BLOCK_GIB,
        memory_block_gib=LAB_MEMORY_BLOCK_GIB,
        max_shared_per_core=max((b.max_compositions for _, b in cpus), default=1),
        core_use=core_use,
        dedicated_cores=dedicated,
        memory_used_gib=sum(LAB_MEMORY_BLOCK_GIB for b in memory if b.users),
        ports=tuple(ports),
    )


def mode_of(attributes: Any, what: str) -> MachineMode:
    value = attributes.get("SystemMode") if isinstance(attributes, dict) else None
    mode = _MODES.get(str(value))
    if mode is None:
        raise Invalid(f"{what} has no SystemMode BIOS attribute (Bare or Hypervisor): no mode")
    return mode


_HEX_PAIRS = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2})*$")


def check_identity(identity: str, kind: PortKind | None, where: str) -> None:
    """Invalid unless ``identity`` is a WWPN (8 hex pairs) or MAC (6), as ``kind`` wants."""
    pairs = len(identity.replace("-", ":").split(":"))
    if not _HEX_PAIRS.match(identity) or pairs not in IDENTITY_PAIRS[kind]:
        raise Invalid(f"{where}: identity {identity!r} is not {IDENTITY_NAMES[kind]}")


def specific_body(
    host: str, spec: PartitionSpec, blocks: list[Block], own: tuple[str, ...]
) -> dict[str, Any]:
    """Specific composition: the cores ``spec.cpus`` names, memory blocks (the
    partition's ``own`` first, then unused ones) and the ports' blocks."""
    if not blocks:
        raise Conflict(f"{host} has no resource pool to compose from (is it in bare mode?)")
    if len(spec.cpus) != spec.cores:
        raise Invalid(
            f"partition {spec.name}: cpus names {len(spec.cpus)} cores, cores says {spec.cores}"
        )
    cores = {core_index(b.id, host): b for b in blocks if b.kind == "Processor"}
    missing = [c for c in spec.cpus if c not in cores]
    if missing:
        raise Invalid(f"{host} has no core {missing[0]} (its cores: 0-{len(cores) - 1})")
    if spec.memory_gib < 1 or spec.memory_gib % LAB_MEMORY_BLOCK_GIB:
        raise Invalid(
            f"partition {spec.name}: memory {spec.memory_gib} GiB is not a multiple of "
            f"{host}'s {LAB_MEMORY_BLOCK_GIB} GiB blocks"
        )
    memory = [b for b in blocks if b.kind == "Memory"]
    usable = sorted(
        (b for b in memory if b.id in own or not b.users), key=lambda b: b.id not in own
    )
    wanted = spec.memory_gib // LAB_MEMORY_BLOCK_GIB
    if len(usable) < wanted:
        raise Conflict(
            f"{host} cannot give {spec.memory_gib} GiB of memory: "
            f"{len(usable) * LAB_MEMORY_BLOCK_GIB} GiB of its "
            f"{len(memory) * LAB_MEMORY_BLOCK_GIB} GiB pool is free"
        )
    ports = {port_key(b, host): b for b in blocks if b.kind == "Network"}
    for use in spec.ports:
        if use.port not in ports:
            raise Invalid(f"{host} has no port {use.port} (its ports: {', '.join(ports)})")
    paths = [
        *(cores[c].path for c in spec.cpus),
        *(b.path for b in usable[:wanted]),
        *(ports[u.port].path for u in spec.ports),
    ]
    return {
        "Links": {"ResourceBlocks": [{"@odata.id": p} for p in paths]},
        "Oem": {
            "KanriLab": {
                "CpuMode": CPU_MODE_VALUES[spec.cpu_mode],
                "SharedWeight": spec.shared_weight,
                "SharedPorts": [u.port for u in spec.ports if u.shared],
            }
        },
    }
