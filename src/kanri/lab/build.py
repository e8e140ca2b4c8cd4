"""Build a running Lab from a LabConfig."""

from __future__ import annotations

import zlib
from pathlib import Path

from kanri.lab.clock import LabClock
from kanri.lab.config import LabConfig, LabConfigError, MachineSpec, system_uuid
from kanri.lab.model.lab import Lab, LabError, boot_now
from kanri.lab.model.san import GIB, SanError
from kanri.lab.model.systems import Component, ComponentKind, Machine, Port, PortKind


def machine_from_spec(spec: MachineSpec, slot: int) -> Machine:
    ports = [
        Port(f"nic{i}", PortKind.ETHERNET, f"02:6b:00:{slot:02x}:00:{i:02x}")
        for i in range(spec.nics)
    ] + [
        Port(f"fc{i}", PortKind.FIBRE_CHANNEL, f"20:00:00:6b:00:{slot:02x}:00:{i:02x}")
        for i in range(spec.fc_ports)
    ]
    components = [
        *(Component(f"CPU{i}", ComponentKind.CPU) for i in (1, 2)),
        *(Component(f"DIMM{i}", ComponentKind.DIMM) for i in range(1, 9)),
        *(Component(f"PSU{i}", ComponentKind.PSU) for i in (1, 2)),
        *(Component(f"Fan{i}", ComponentKind.FAN) for i in range(1, 5)),
    ]
    return Machine(
        id=spec.id,
        name=spec.id,
        uuid=system_uuid(spec.id),
        slot=slot,
        serial=f"KL{slot:04d}{zlib.crc32(spec.id.encode()) % 10000:04d}",
        cores=spec.cores,
        memory_gib=spec.memory_gib,
        mode=spec.mode,
        ports=ports,
        components=components,
    )


def resolve_initiator(lab: Lab, text: str) -> str:
    """``SYSTEM/PORT`` -> the identity that port is configured to present; else literal."""
    if "/" not in text:
        return text
    system_id, port_id = text.split("/", 1)
    system = lab.machines.get(system_id) or lab.partitions.get(system_id)
    if system is None:
        raise LabConfigError(f"initiator {text}: no system {system_id}")
    for port in system.ports:
        if port.id == port_id:
            return port.configured
    raise LabConfigError(f"initiator {text}: {system_id} has no port {port_id}")


def empty_lab(config: LabConfig, directory: Path) -> Lab:
    """A lab with the config's clock, timing and credentials, and nothing in it yet."""
    return Lab(
        clock=LabClock(config.scale),
        directory=directory,
        timing=config.timing,
        session_limit=config.session_limit,
        username=config.username,
        password=config.password,
    )


def build_lab(config: LabConfig, directory: Path) -> Lab:
    lab = empty_lab(config, directory)
    try:
        for slot, spec in enumerate(config.machines, start=1):
            lab.machines[spec.id] = machine_from_spec(spec, slot)
        _add_partitions(lab, config)
        for volume in config.volumes:
            if volume.id in lab.san.volumes:
                continue  # a persisted lab keeps its volumes and their contents
            lab.san.create_volume(volume.id, volume.size_gib * GIB)
        for group in config.host_groups:
            initiators = {resolve_initiator(lab, i) for i in group.initiators}
            lab.san.create_host_group(group.id, initiators)
            for lun, volume_id in group.luns.items():
                lab.san.map_volume(group.id, volume_id, int(lun))
        for mspec in config.machines:
            if mspec.power == "On":
                boot_now(lab, lab.machines[mspec.id])
        for pspec in config.partitions:
            if pspec.power == "On":
                boot_now(lab, lab.partitions[pspec.id])
    except (SanError, LabError) as exc:  # a layout the lab itself refuses
        lab.close()
        raise LabConfigError(str(exc)) from None
    except Exception:
        lab.close()
        raise
    return lab


def _add_partitions(lab: Lab, config: LabConfig) -> None:
    """Partitions of the config, composed as a client's compose request would be."""
    if not config.partitions:
        return
    from kanri.lab.model.composition import compose_from_spec

    for spec in config.partitions:
        compose_from_spec(lab, spec)
