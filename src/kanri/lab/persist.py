"""The lab's state in its directory, so a restarted lab comes back as it was.

``lab-state.json`` holds what the machines, partitions and array would remember through a
restart of the lab process: each system's power, boot state and SEL, a machine's mode and
pending BIOS mode, port addresses (virtual WWPNs/MACs), boot LUN, its components' health,
partitions' layout, volumes (their sparse files stay beside it) and host groups, and the
hardware faults (failed components, lost power, failed storage paths). A BMC's misbehaviour
(silent, slow, unavailable, out of sessions, dropping events) ends with the process, as it
would with a BMC reboot.

The lab saves itself about once a real second when something changed (written whole to a
temporary file and renamed over, so a crash never leaves half of one) and once more when
it stops. Systems that were running come back running their OS, on the same volume.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from kanri.lab.build import build_lab, empty_lab, machine_from_spec
from kanri.lab.config import LabConfig, LabConfigError, MachineSpec, PartitionSpec
from kanri.lab.files import write_atomically
from kanri.lab.model.lab import BmcFault, Lab, boot_now
from kanri.lab.model.san import SanError, Volume
from kanri.lab.model.states import Boot, Mode, OemBoot, Power
from kanri.lab.model.systems import Health, Machine, Partition, PortKind, SelEntry, System

log = logging.getLogger("kanri.lab.persist")

STATE_FILE = "lab-state.json"
VERSION = 1
SAVE_EVERY = 1.0  # real seconds between checks for changes


# saving ----------------------------------------------------------------------------------
def _system(system: System) -> dict[str, Any]:
    return {
        "id": system.id,
        "power": str(system.power),
        "boot": str(system.boot),
        "oem_boot": str(system.oem_boot) if system.oem_boot else None,
        "booted_volume": system.booted_volume,
        "os_since": system.os_since,
        "boot_lun": system.boot_lun,
        "boot_override": system.boot_override,
        "boot_override_enabled": system.boot_override_enabled,
        "ports": {
            p.id: {"permanent": p.permanent, "address": p.address, "presented": p.presented}
            for p in system.ports
        },
        "sel": [vars(e) for e in system.sel],
    }


def snapshot(lab: Lab) -> dict[str, Any]:
    """Everything a restart keeps, as JSON-ready data."""
    with lab.lock:
        machines = []
        for m in lab.machines.values():
            item = _system(m)
            item.update(
                slot=m.slot,
                cores=m.cores,
                memory_gib=m.memory_gib,
                nics=sum(1 for p in m.ports if p.kind is PortKind.ETHERNET),
                fc_ports=sum(1 for p in m.ports if p.kind is PortKind.FIBRE_CHANNEL),
                mode=str(m.mode),
                pending_mode=str(m.pending_mode) if m.pending_mode else None,
                faulty={c.id: str(c.health) for c in m.components if c.health is not Health.OK},
            )
            machines.append(item)
        partitions = []
        for p in lab.partitions.values():
            item = _system(p)
            item.update(
                host=p.host,
                cores=p.cores,
                memory_gib=p.memory_gib,
                cpu_mode=str(p.cpu_mode),
                shared_weight=p.shared_weight,
                assigned=[
                    f"{a.host_port}:shared" if a.shared else a.host_port for a in p.assigned_ports
                ],
                killed_by_host=p.killed_by_host,
            )
            partitions.append(item)
        san = lab.san
        return {
            "version": VERSION,
            "machines": machines,
            "partitions": partitions,
            "volumes": [
                {
                    "id": v.id,
                    "name": v.name,
                    "capacity_bytes": v.capacity_bytes,
                    "file": v.path.name,
                }
                for v in san.volumes.values()
            ],
            "host_groups": [
                {
                    "id": g.id,
                    "name": g.name,
                    "initiators": sorted(g.initiators),
                    "luns": {str(lun): vol for lun, vol in sorted(g.luns.items())},
                }
                for g in san.host_groups.values()
            ],
            "failed_paths": sorted(san.failed_paths),
            "unpowered": {
                m: bool((f := lab.bmc_faults.get(m)) and f.dead) for m in sorted(lab.unpowered)
            },
        }


def state_path(lab: Lab) -> Path:
    return lab.directory / STATE_FILE


def save(lab: Lab) -> bool:
    """Save now; False (and a warning in the log) when the directory refuses."""
    try:
        write_atomically(state_path(lab), json.dumps(snapshot(lab), indent=1))
    except OSError as exc:
        log.warning("cannot save the lab's state: %s", exc)
        return False
    return True


class Autosave:
    """Saves the lab when its state changed, checking about once a real second on the
    lab's scheduler (so it stops with the lab)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._last = ""

    def start(self) -> Autosave:
        self.lab.scheduler.call_later(self.lab.clock.scale * SAVE_EVERY, self._tick)
        return self

    def _tick(self) -> None:
        try:
            text = json.dumps(snapshot(self.lab), indent=1)
            if text != self._last:
                write_atomically(state_path(self.lab), text)
                self._last = text
        except OSError as exc:
            log.warning("cannot save the lab's state: %s", exc)
        finally:
            self.start()


# restoring -------------------------------------------------------------------------------
def _restore_ports(system: System, saved: dict[str, Any]) -> None:
    ports = saved.get("ports", {})
    for port in system.ports:
        if port.id in ports:
            # A partition's shared port has a virtual "burnt-in" address of its own
            port.permanent = ports[port.id]["permanent"]
            port.address = ports[port.id]["address"]
            port.presented = ports[port.id]["presented"] or port.configured
    system.boot_lun = saved["boot_lun"]
    system.boot_override = saved["boot_override"]
    system.boot_override_enabled = saved["boot_override_enabled"]
    system.sel = [SelEntry(**e) for e in saved.get("sel", [])]


def _power_up(lab: Lab, system: System, saved: dict[str, Any]) -> None:
    """Bring a system back to the power and boot state it was saved in, booting with
    the identities (and mode) it had then, not the ones waiting for its next boot."""
    power, boot = Power(saved["power"]), Boot(saved["boot"])
    if power in (Power.OFF, Power.POWERING_OFF):
        return
    later = {p.id: p.address for p in system.ports}
    presented = {p.id: p.presented for p in system.ports}
    pending = None
    if isinstance(system, Machine):
        pending, system.pending_mode = system.pending_mode, None
    if boot is Boot.OEM:  # halted or found nothing to boot: stays so, without a new boot
        system.power, system.boot = Power.ON, Boot.OEM
        system.oem_boot = OemBoot(saved["oem_boot"]) if saved["oem_boot"] else None
    else:
        for port in system.ports:
            port.address = presented[port.id]
        boot_now(lab, system)
        for port in system.ports:
            port.address = later[port.id]
        if (
            system.os_running
            and saved["os_since"]
            and saved["booted_volume"] == (system.booted_volume)
        ):
            system.os_since = saved["os_since"]
    if isinstance(system, Machine):
        system.pending_mode = pending


def restore(config: LabConfig, directory: Path) -> Lab | None:
    """The lab saved in ``directory``, with the settings (scale, timing, credentials) of
    ``config``; None when nothing was saved there."""
    path = directory / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabConfigError(
            f"the saved lab state {path} is unreadable ({exc}); move it away to start afresh"
        ) from None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise LabConfigError(
            f"the saved lab state {path} is not version {VERSION}; move it away to start afresh"
        )
    lab = empty_lab(config, directory)
    try:
        _rebuild(lab, state)
    except (AttributeError, KeyError, TypeError, ValueError, SanError) as exc:
        lab.close()
        raise LabConfigError(
            f"the saved lab state {path} does not fit this lab ({type(exc).__name__}: {exc}); "
            "move it away to start afresh"
        ) from None
    except Exception:
        lab.close()
        raise
    return lab


def _rebuild(lab: Lab, state: dict[str, Any]) -> None:
    with lab.lock:
        for saved in state["machines"]:
            spec = MachineSpec(
                id=saved["id"],
                cores=saved["cores"],
                memory_gib=saved["memory_gib"],
                mode=Mode(saved["mode"]),
                nics=saved["nics"],
                fc_ports=saved["fc_ports"],
            )
            machine = machine_from_spec(spec, saved["slot"])
            machine.pending_mode = Mode(saved["pending_mode"]) if saved["pending_mode"] else None
            for component in machine.components:
                component.health = Health(saved["faulty"].get(component.id, "OK"))
            _restore_ports(machine, saved)
            lab.machines[machine.id] = machine
        for item in state["volumes"]:
            file = lab.san.directory / item["file"]
            if file.exists():  # its contents are the disk: keep them
                lab.san.volumes[item["id"]] = Volume(
                    item["id"], item["name"], item["capacity_bytes"], file
                )
            else:
                lab.san.create_volume(item["id"], item["capacity_bytes"], item["name"])
        for item in state["host_groups"]:
            lab.san.create_host_group(item["id"], set(item["initiators"]), item["name"])
            for lun, volume in item["luns"].items():
                lab.san.map_volume(item["id"], volume, int(lun))
        lab.san.failed_paths = set(state["failed_paths"])
        _rebuild_partitions(lab, state["partitions"])
        for machine_id, with_bmc in state["unpowered"].items():
            lab.unpowered.add(machine_id)
            if with_bmc:
                lab.bmc_faults[machine_id] = BmcFault(dead=True)
        for saved in state["machines"]:
            _power_up(lab, lab.machines[saved["id"]], saved)
        for saved in state["partitions"]:
            partition = lab.partitions[saved["id"]]
            if lab.machines[partition.host].os_running:
                _power_up(lab, partition, saved)
        lab.record("lab.restored", machines=len(lab.machines), partitions=len(lab.partitions))
        lab.check_invariants()


def _rebuild_partitions(lab: Lab, partitions: list[dict[str, Any]]) -> None:
    if not partitions:
        return
    from kanri.lab.model.composition import compose_from_spec

    for saved in partitions:
        spec = PartitionSpec(
            id=saved["id"],
            host=saved["host"],
            cores=saved["cores"],
            memory_gib=saved["memory_gib"],
            cpu_mode=saved["cpu_mode"],
            shared_weight=saved["shared_weight"],
            ports=list(saved["assigned"]),
        )
        # A host switched to bare keeps its partitions (they cannot start): compose them
        # as they were made, in the mode they were made in.
        host = lab.machines[spec.host]
        mode, host.mode = host.mode, Mode.HYPERVISOR
        try:
            compose_from_spec(lab, spec)
        finally:
            host.mode = mode
        partition: Partition = lab.partitions[saved["id"]]
        partition.killed_by_host = saved["killed_by_host"]
        _restore_ports(partition, saved)


def open_lab(config: LabConfig, directory: Path) -> Lab:
    """The lab saved in ``directory`` if there is one, else a new one built from
    ``config``; either way saving itself from now on."""
    started = time.monotonic()
    lab = restore(config, directory)
    if lab is None:
        lab = build_lab(config, directory)
    else:
        log.info("lab restored from %s in %.2fs", directory, time.monotonic() - started)
    Autosave(lab).start()
    return lab
