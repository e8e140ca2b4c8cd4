"""The lab: every system, the SAN, events and history behind one lock, and the
behaviour of power and boot over lab time.

Everything that changes state runs under ``Lab.lock`` (HTTP handlers and timers alike),
so what a client reads is always one consistent moment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kanri.lab.clock import LabClock, Scheduler, Timer
from kanri.lab.model.events import EventBus, LabEvent
from kanri.lab.model.history import History, Violation
from kanri.lab.model.san import San
from kanri.lab.model.states import RESET_TABLE, Boot, Mode, OemBoot, Power, ResetType, Step
from kanri.lab.model.systems import Machine, Partition, SelEntry, System

# Entries a SEL keeps (its LogService's MaxNumberOfRecords, WrapsWhenFull).
SEL_LIMIT = 1000


class LabError(ValueError):
    """A request the lab refuses; ``message_id`` is a Redfish Base registry key and
    ``status`` the HTTP status it answers with."""

    def __init__(
        self, message: str, message_id: str = "Base.1.22.ActionNotSupported", status: int = 400
    ) -> None:
        super().__init__(message)
        self.message_id = message_id
        self.status = status


@dataclass
class Timing:
    """Lab seconds each stage takes (scaled by the clock)."""

    power_on: float = 3.0  # PoweringOn -> On
    hardware_init: float = 4.0  # On -> firmware done
    os_boot: float = 6.0  # OS boot started -> OSRunning
    shutdown: float = 4.0  # graceful: PoweringOff -> Off
    latency: float = 0.0  # every BMC answer waits this long


@dataclass
class BmcFault:
    """How one BMC (or the enclosure manager, key "*") misbehaves right now."""

    silent: bool = False  # accepts the connection, never answers
    slow: float = 0.0  # extra lab seconds per answer
    unavailable: bool = False  # answers 503
    dead: bool = False  # lost power with its machine: silent, as a dead BMC's IP is
    sessions_exhausted: bool = False  # "*" only: every login answers SessionLimitExceeded


@dataclass
class Lab:
    clock: LabClock
    directory: Path
    timing: Timing = field(default_factory=Timing)
    session_limit: int = 16
    username: str = "admin"
    password: str = "password"  # noqa: S105 - the lab's documented default, printed at start
    machines: dict[str, Machine] = field(default_factory=dict)
    partitions: dict[str, Partition] = field(default_factory=dict)
    bmc_faults: dict[str, BmcFault] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.scheduler = Scheduler(self.clock)
        self.events = EventBus()
        self.history = History()
        self.san = San(self.directory / "volumes")
        self._timers: dict[str, list[Timer]] = {}
        # machines without input power (a fault, see model/faults.py): they cannot start
        self.unpowered: set[str] = set()

    def close(self) -> None:
        self.scheduler.stop()

    # lookups ---------------------------------------------------------------------------
    def systems(self) -> list[System]:
        return [*self.machines.values(), *self.partitions.values()]

    def system(self, system_id: str) -> System:
        found = self.machines.get(system_id) or self.partitions.get(system_id)
        if found is None:
            raise LabError(f"no system {system_id}", "Base.1.22.ResourceMissingAtURI", 404)
        return found

    def machine(self, machine_id: str) -> Machine:
        found = self.machines.get(machine_id)
        if found is None:
            raise LabError(f"no machine {machine_id}", "Base.1.22.ResourceMissingAtURI", 404)
        return found

    def owner_machine(self, system_id: str) -> str:
        """The machine whose BMC answers for ``system_id`` (itself, or a partition's host)."""
        partition = self.partitions.get(system_id)
        return partition.host if partition else system_id

    def wall(self) -> str:
        return self.clock.wall().isoformat(timespec="seconds")

    def record(self, kind: str, **data: object) -> None:
        self.history.record(self.clock.now(), self.wall(), kind, **data)

    # events and the SEL ----------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        message_id: str,
        message: str,
        severity: str,
        origin: str,
        args: tuple[str, ...] = (),
    ) -> LabEvent | None:
        event = self.events.emit(
            self.wall(), event_type, message_id, message, severity, origin, args
        )
        if event is None:
            self.record("event.dropped", message_id=message_id, origin=origin)
        return event

    def add_sel(
        self, system: System, severity: str, message: str, message_id: str, sensor: str = ""
    ) -> SelEntry:
        """Append a SEL entry, numbered on from the last; a full SEL drops its oldest."""
        number = system.sel[-1].id + 1 if system.sel else 1
        entry = SelEntry(number, self.wall(), severity, message, message_id, sensor)
        system.sel.append(entry)
        del system.sel[:-SEL_LIMIT]
        return entry

    def log_sel(
        self, system: System, severity: str, message: str, message_id: str, sensor: str = ""
    ) -> SelEntry:
        """Write a SEL entry on ``system``'s BMC and raise the matching Alert event."""
        entry = self.add_sel(system, severity, message, message_id, sensor)
        self.emit("Alert", message_id, message, severity, f"/redfish/v1/Systems/{system.id}")
        return entry

    # power -----------------------------------------------------------------------------
    def reset(self, system_id: str, reset_type: ResetType) -> None:
        with self.lock:
            system = self.system(system_id)
            if isinstance(system, Partition) and reset_type in _STARTS:
                self._check_host_runs(system)
            if system_id in self.unpowered and reset_type in _STARTS:
                raise LabError(f"{system_id} has no input power", status=409)
            self.record("power.command", system=system_id, reset_type=str(reset_type))
            steps = RESET_TABLE.get((system.power, reset_type), ())
            self._run_steps(system, list(steps))

    def _check_host_runs(self, partition: Partition) -> None:
        host = self.machine(partition.host)
        if not (host.os_running and host.mode is Mode.HYPERVISOR):
            raise LabError(
                f"partition {partition.id} cannot start: its host {host.id} is not running "
                "its hypervisor",
                "Base.1.22.ActionNotSupported",
                409,
            )

    def _run_steps(self, system: System, steps: list[Step]) -> None:
        if not steps:
            return
        step, rest = steps[0], steps[1:]
        if step is Step.POWER_ON:
            self._cancel_timers(system.id)
            system.power = Power.POWERING_ON
            system.boot = Boot.NONE
            system.oem_boot = None
            # An OS interrupted mid-shutdown is gone: the new boot finds its own volume.
            system.booted_volume = None
            system.os_since = None
            if isinstance(system, Partition):
                system.killed_by_host = False  # running again: no host death to undo
            self._later(system, self.timing.power_on, lambda: self._powered_on(system))
        elif step is Step.CUT:
            self._power_off(system, reason="forced")
            self._run_steps(system, rest)
        elif step is Step.SHUTDOWN:
            if system.boot is not Boot.OS_RUNNING:
                return  # no OS to ask: a graceful request goes unanswered, as on real gear
            self._cancel_timers(system.id)
            system.power = Power.POWERING_OFF

            def down() -> None:
                self._power_off(system, reason="graceful")
                self._run_steps(system, rest)

            self._later(system, self.timing.shutdown, down)
        elif step is Step.NMI:
            self.log_sel(system, "Critical", "NMI received", "KanriLab.1.0.Nmi")

    def _later(self, system: System, delay: float, action: Callable[[], object]) -> None:
        timer: Timer | None = None

        def fire() -> None:
            with self.lock:
                # The scheduler checked `cancelled` before taking the lock; a command that
                # held the lock meanwhile (a ForceOff) may have cancelled it since.
                if timer is None or not timer.cancelled:
                    action()

        timer = self.scheduler.call_later(delay, fire)
        self._timers.setdefault(system.id, []).append(timer)

    def _cancel_timers(self, system_id: str) -> None:
        for timer in self._timers.pop(system_id, []):
            timer.cancel()

    def _powered_on(self, system: System) -> None:
        system.power = Power.ON
        # Identities and the BIOS mode take effect at boot, as on real firmware.
        for port in system.ports:
            port.presented = port.configured
        if isinstance(system, Machine) and system.pending_mode is not None:
            system.mode, system.pending_mode = system.pending_mode, None
        self.record("power.on", system=system.id, identities=sorted(system.identities()))
        self.emit(
            "StatusChange",
            "ResourceEvent.1.4.ResourcePoweredOn",
            f"{system.id} powered on",
            "OK",
            f"/redfish/v1/Systems/{system.id}",
            (system.id,),
        )
        self._later(system, self.timing.hardware_init, lambda: self._start_os(system))

    def _start_os(self, system: System) -> None:
        system.boot = Boot.HARDWARE_INIT
        if isinstance(system, Machine) and system.mode is Mode.HYPERVISOR:
            # The hypervisor lives in the blade's firmware: no SAN volume needed.
            system.boot = Boot.OS_BOOT_STARTED
            self._later(system, self.timing.os_boot / 2, lambda: self._os_up(system, None))
            return
        volume = self.san.visible(system.identities()).get(system.boot_lun)
        if volume is None:
            system.boot, system.oem_boot = Boot.OEM, OemBoot.NO_BOOTABLE_DEVICE
            self.record("boot.failed", system=system.id, identities=sorted(system.identities()))
            self.log_sel(
                system,
                "Critical",
                f"No bootable device: nothing mapped at LUN {system.boot_lun} to "
                f"{', '.join(sorted(system.identities())) or 'no identity'}",
                "KanriLab.1.0.NoBootableDevice",
            )
            return
        system.boot = Boot.OS_BOOT_STARTED
        system.booted_volume = volume
        self.record(
            "boot.volume", system=system.id, volume=volume, identities=sorted(system.identities())
        )
        self.check_invariants()
        self._later(system, self.timing.os_boot, lambda: self._os_up(system, volume))

    def _os_up(self, system: System, volume: str | None) -> None:
        if system.boot is not Boot.OS_BOOT_STARTED:
            return  # halted during its boot (fenced): it stays halted until restarted
        if volume is not None and volume != self.san.visible(system.identities()).get(
            system.boot_lun
        ):
            self._halt_os(system, f"boot volume {volume} went away during boot")
            return
        system.boot = Boot.OS_RUNNING
        system.os_since = self.wall()
        if volume is not None:
            self.san.write_boot_record(volume, {"system": system.id, "at": system.os_since})
        self.record(
            "os.running", system=system.id, volume=volume, identities=sorted(system.identities())
        )
        self.check_invariants()

    def _halt_os(self, system: System, why: str) -> None:
        system.boot, system.oem_boot = Boot.OEM, OemBoot.OS_HALTED
        self.record("os.halted", system=system.id, volume=system.booted_volume, why=why)
        self.log_sel(system, "Critical", f"OS halted: {why}", "KanriLab.1.0.OsHalted")
        system.booted_volume = None

    def _power_off(self, system: System, reason: str) -> None:
        self._cancel_timers(system.id)
        was_on = system.power is not Power.OFF
        system.power = Power.OFF
        system.boot, system.oem_boot = Boot.NONE, None
        system.booted_volume = None
        system.os_since = None
        if was_on:
            self.record("power.off", system=system.id, reason=reason)
            self.emit(
                "StatusChange",
                "ResourceEvent.1.4.ResourcePoweredOff",
                f"{system.id} powered off ({reason})",
                "OK" if reason != "lost" else "Critical",
                f"/redfish/v1/Systems/{system.id}",
                (system.id,),
            )
        if isinstance(system, Machine):
            for partition in self.partitions.values():
                if partition.host == system.id and partition.power is not Power.OFF:
                    partition.killed_by_host = True
                    self._power_off(partition, reason="host stopped")

    def power_loss(self, machine_id: str) -> None:
        """Sudden loss of power: no shutdown, partitions die with the host."""
        with self.lock:
            machine = self.machine(machine_id)
            self.record("fault.power_loss", system=machine_id)
            self._power_off(machine, reason="lost")
            self.log_sel(machine, "Critical", "AC power lost", "KanriLab.1.0.PowerLost", "PSU")

    def storage_changed(self) -> None:
        """After any SAN change: a running OS whose boot volume it can no longer see halts
        (it is fenced), as an OS does when its root disk disappears."""
        with self.lock:
            for system in self.systems():
                if system.booted_volume is None:
                    continue
                seen = self.san.visible(system.identities()).get(system.boot_lun)
                if seen != system.booted_volume:
                    self._halt_os(system, f"lost its path to volume {system.booted_volume}")
            self.check_invariants()

    # invariants --------------------------------------------------------------------------
    def check_invariants(self) -> list[Violation]:
        """No volume used by two running systems; no system on a volume not mapped to it."""
        found: list[Violation] = []
        with self.lock:
            users: dict[str, list[str]] = {}
            for system in self.systems():
                if system.booted_volume is not None and system.power is Power.ON:
                    users.setdefault(system.booted_volume, []).append(system.id)
                    mapped = self.san.mapped_to(system.booted_volume)
                    if not system.identities() & mapped:
                        found.append(
                            self._violation(
                                "unmapped-boot",
                                system.booted_volume,
                                [system.id],
                                f"{system.id} runs from {system.booted_volume}, which is not "
                                "mapped to any identity it presents",
                            )
                        )
            for volume, systems in users.items():
                if len(systems) > 1:
                    found.append(
                        self._violation(
                            "split-brain",
                            volume,
                            systems,
                            f"volume {volume} is in use by {len(systems)} running systems: "
                            + ", ".join(sorted(systems)),
                        )
                    )
            known = {(v.rule, v.volume, v.systems) for v in self.history.violations}
            new = [v for v in found if (v.rule, v.volume, v.systems) not in known]
            for violation in new:
                self.history.violate(violation)
                self.record("invariant.violated", rule=violation.rule, volume=violation.volume)
        return new

    def _violation(self, rule: str, volume: str, systems: list[str], detail: str) -> Violation:
        return Violation(
            self.clock.now(), self.wall(), rule, volume, tuple(sorted(systems)), detail
        )


_STARTS = {
    ResetType.ON,
    ResetType.FORCE_ON,
    ResetType.FORCE_RESTART,
    ResetType.GRACEFUL_RESTART,
    ResetType.POWER_CYCLE,
    ResetType.PUSH_POWER_BUTTON,
}


def boot_now(lab: Lab, system: System) -> None:
    """Bring ``system`` up at once (no timers): the state of a lab that starts with it
    already running."""
    with lab.lock:
        lab._powered_on(system)
        lab._cancel_timers(system.id)
        lab._start_os(system)
        lab._cancel_timers(system.id)
        if system.boot is Boot.OS_BOOT_STARTED:
            lab._os_up(system, system.booted_volume)
