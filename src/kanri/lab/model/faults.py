"""Fault injection: what can go wrong in the lab, switched on and off.

Every fault lives in the lab's own state (component health, ``bmc_faults``, the event
bus's drop counter, the SAN's failed paths, ``unpowered``), so the active faults are read
from that state rather than kept in a second list that could disagree with it — and a
restored lab lists exactly the faults it restored.

Targets: a machine or partition id, or ``"*"`` for the enclosure manager itself (its BMC
faults, its session table, its event service).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from kanri.lab.model.lab import BmcFault, Lab, LabError
from kanri.lab.model.san import normalize_identity
from kanri.lab.model.systems import (
    Component,
    ComponentKind,
    Health,
    Machine,
    System,
)

ENCLOSURE = "*"
_ROOT = "/redfish/v1"


class FaultKind(StrEnum):
    COMPONENT = "component"
    POWER_LOSS = "power-loss"
    BMC = "bmc"
    SESSIONS_EXHAUSTED = "sessions-exhausted"
    DROP_EVENTS = "drop-events"
    STORAGE_PATH = "storage-path"


class BmcMode(StrEnum):
    SILENT = "silent"  # accepts the connection, never answers
    SLOW = "slow"  # answers after extra seconds
    UNAVAILABLE = "unavailable"  # answers 503


# A component's SEL sensor type (LogEntry.SensorType) and where Redfish shows it.
SENSOR = {
    ComponentKind.CPU: "Processor",
    ComponentKind.DIMM: "Memory",
    ComponentKind.PSU: "Power Supply / Converter",
    ComponentKind.FAN: "Fan",
}
_STATUS_MESSAGE = {
    Health.OK: "ResourceEvent.1.4.ResourceStatusChangedOK",
    Health.WARNING: "ResourceEvent.1.4.ResourceStatusChangedWarning",
    Health.CRITICAL: "ResourceEvent.1.4.ResourceStatusChangedCritical",
}


def component_uri(machine_id: str, component: Component) -> str:
    return {
        ComponentKind.CPU: f"{_ROOT}/Systems/{machine_id}/Processors/{component.id}",
        ComponentKind.DIMM: f"{_ROOT}/Systems/{machine_id}/Memory/{component.id}",
        ComponentKind.PSU: f"{_ROOT}/Chassis/{machine_id}/PowerSubsystem/PowerSupplies/"
        f"{component.id}",
        ComponentKind.FAN: f"{_ROOT}/Chassis/{machine_id}/ThermalSubsystem/Fans/{component.id}",
    }[component.kind]


def _not_found(what: str) -> LabError:
    return LabError(what, "Base.1.22.ResourceMissingAtURI", 404)


def _machine_target(lab: Lab, target: str, kind: FaultKind) -> Machine:
    if target in lab.partitions:
        host = lab.partitions[target].host
        raise LabError(
            f"{kind} faults are on machines: partition {target} runs on machine {host}",
            "Base.1.22.PropertyValueError",
        )
    if target not in lab.machines:
        raise _not_found(f"no machine {target}")
    return lab.machines[target]


# components -------------------------------------------------------------------------------
def fail_component(
    lab: Lab,
    machine_id: str,
    kind: ComponentKind,
    component_id: str | None = None,
    severity: Health = Health.CRITICAL,
) -> Component:
    """Set one component's health (the first of its kind unless named), with a SEL entry
    and an Alert event as the BMC's sensor would raise them."""
    if severity is Health.OK:
        raise LabError("a component fault is Warning or Critical", "Base.1.22.PropertyValueError")
    with lab.lock:
        machine = _machine_target(lab, machine_id, FaultKind.COMPONENT)
        of_kind = [c for c in machine.components if c.kind is kind]
        if component_id is None:
            component = of_kind[0]
        else:
            matches = [c for c in of_kind if c.id.lower() == component_id.lower()]
            if not matches:
                raise _not_found(
                    f"machine {machine_id} has no {kind} {component_id} "
                    f"(it has {', '.join(c.id for c in of_kind)})"
                )
            component = matches[0]
        if component.health is not severity:
            component.health = severity
            _health_changed(lab, machine, component)
        lab.record(
            "fault.component", system=machine.id, component=component.id, health=str(severity)
        )
        return component


def _health_changed(lab: Lab, machine: Machine, component: Component) -> None:
    message_id = _STATUS_MESSAGE[component.health]
    message = f"The health of resource '{component.id}' has changed to {component.health}."
    # Not lab.log_sel: the event's origin is the component itself.
    lab.add_sel(machine, str(component.health), message, message_id, SENSOR[component.kind])
    lab.emit(
        "Alert",
        message_id,
        message,
        str(component.health),
        component_uri(machine.id, component),
        (component.id, str(component.health)),
    )


def clear_components(lab: Lab, machine_id: str) -> list[str]:
    """Every faulty component of the machine back to OK; the ids that changed."""
    with lab.lock:
        machine = _machine_target(lab, machine_id, FaultKind.COMPONENT)
        changed = []
        for component in machine.components:
            if component.health is not Health.OK:
                component.health = Health.OK
                _health_changed(lab, machine, component)
                changed.append(component.id)
        if changed:
            lab.record("fault.component_cleared", system=machine.id, components=changed)
        return changed


# power ------------------------------------------------------------------------------------
def lose_power(lab: Lab, machine_id: str, with_bmc: bool = False) -> None:
    """The machine loses input power; ``with_bmc``: its BMC dies with it and stops
    answering (behind a switch, that looks like a timeout). Either way it cannot be
    powered on until power is restored."""
    with lab.lock:
        machine = _machine_target(lab, machine_id, FaultKind.POWER_LOSS)
        if with_bmc:
            old = lab.bmc_faults.get(machine.id, BmcFault())
            lab.bmc_faults[machine.id] = replace(old, dead=True)
        lab.unpowered.add(machine.id)
        lab.power_loss(machine.id)


def restore_power(lab: Lab, machine_id: str) -> bool:
    """Input power returns: the machine stays Off (AC restore policy "last state off") and
    its BMC answers again. False when it had not lost power."""
    with lab.lock:
        machine = _machine_target(lab, machine_id, FaultKind.POWER_LOSS)
        if machine.id not in lab.unpowered:
            return False
        lab.unpowered.discard(machine.id)
        fault = lab.bmc_faults.get(machine.id)
        if fault is not None and fault.dead:
            _set_bmc(lab, machine.id, replace(fault, dead=False))
        lab.record("fault.power_restored", system=machine.id)
        lab.log_sel(machine, "OK", "AC power restored", "KanriLab.1.0.PowerRestored", "PSU")
        return True


# BMCs -------------------------------------------------------------------------------------
def _set_bmc(lab: Lab, key: str, fault: BmcFault) -> None:
    """Replace the fault object whole (the middleware reads it without the lock); drop it
    once nothing is wrong."""
    if fault == BmcFault():
        lab.bmc_faults.pop(key, None)
    else:
        lab.bmc_faults[key] = fault


def _bmc_key(lab: Lab, target: str) -> str:
    if target == ENCLOSURE:
        return target
    if target in lab.partitions:
        host = lab.partitions[target].host
        raise LabError(
            f"partition {target} answers through its host's BMC: target {host} instead",
            "Base.1.22.PropertyValueError",
        )
    if target not in lab.machines:
        raise _not_found(f"no machine {target} (or '*' for the enclosure manager)")
    return target


def fail_bmc(lab: Lab, target: str, mode: BmcMode, seconds: float = 5.0) -> None:
    """One BMC (or the enclosure manager, "*") goes silent, slow or unavailable; a new
    mode replaces the previous one."""
    if mode is BmcMode.SLOW and not 0 < seconds <= 3600:
        raise LabError("seconds must be between 0 and 3600", "Base.1.22.PropertyValueOutOfRange")
    with lab.lock:
        key = _bmc_key(lab, target)
        old = lab.bmc_faults.get(key, BmcFault())
        _set_bmc(
            lab,
            key,
            replace(
                old,
                silent=mode is BmcMode.SILENT,
                slow=seconds if mode is BmcMode.SLOW else 0.0,
                unavailable=mode is BmcMode.UNAVAILABLE,
            ),
        )
        lab.record(
            "fault.bmc",
            target=key,
            mode=str(mode),
            **({"seconds": seconds} if mode is BmcMode.SLOW else {}),
        )


def clear_bmc(lab: Lab, target: str) -> bool:
    with lab.lock:
        key = _bmc_key(lab, target)
        old = lab.bmc_faults.get(key)
        if old is None or not (old.silent or old.slow or old.unavailable):
            return False
        _set_bmc(lab, key, replace(old, silent=False, slow=0.0, unavailable=False))
        lab.record("fault.bmc_cleared", target=key)
        return True


def exhaust_sessions(lab: Lab) -> None:
    """Every new login answers SessionLimitExceeded; open sessions keep working."""
    with lab.lock:
        old = lab.bmc_faults.get(ENCLOSURE, BmcFault())
        _set_bmc(lab, ENCLOSURE, replace(old, sessions_exhausted=True))
        lab.record("fault.sessions_exhausted")


def clear_sessions(lab: Lab) -> bool:
    with lab.lock:
        old = lab.bmc_faults.get(ENCLOSURE)
        if old is None or not old.sessions_exhausted:
            return False
        _set_bmc(lab, ENCLOSURE, replace(old, sessions_exhausted=False))
        lab.record("fault.sessions_cleared")
        return True


# events -----------------------------------------------------------------------------------
def drop_events(lab: Lab, count: int | None) -> None:
    """Drop the next ``count`` events, or every one (None) until cleared."""
    if count is not None and count < 1:
        raise LabError("count must be at least 1", "Base.1.22.PropertyValueOutOfRange")
    with lab.lock:
        lab.events.drop_remaining = -1 if count is None else count
        lab.record("fault.drop_events", count="all" if count is None else count)


def clear_drop_events(lab: Lab) -> bool:
    with lab.lock:
        if not lab.events.drop_remaining:
            return False
        lab.events.drop_remaining = 0
        lab.record("fault.drop_events_cleared")
        return True


# storage paths ----------------------------------------------------------------------------
def _system_target(lab: Lab, target: str) -> System:
    found = lab.machines.get(target) or lab.partitions.get(target)
    if found is None:
        raise _not_found(f"no machine or partition {target}")
    return found


def _all_identities(system: System) -> set[str]:
    return {
        normalize_identity(i)
        for p in system.ports
        for i in (p.presented, p.configured, p.permanent)
    }


def fail_storage_path(lab: Lab, system_id: str) -> set[str]:
    """The SAN paths of every identity the system presents go down; a running OS on it
    loses its boot volume and halts."""
    with lab.lock:
        system = _system_target(lab, system_id)
        identities = {normalize_identity(i) for i in system.identities()}
        lab.san.failed_paths |= identities
        lab.record("fault.storage_path", system=system.id, identities=sorted(identities))
        lab.storage_changed()
        return identities


def restore_storage_path(lab: Lab, system_id: str) -> set[str]:
    with lab.lock:
        system = _system_target(lab, system_id)
        restored = lab.san.failed_paths & _all_identities(system)
        if restored:
            lab.san.failed_paths -= restored
            lab.record("fault.storage_path_cleared", system=system.id, identities=sorted(restored))
            lab.storage_changed()
        return restored


# all of them ------------------------------------------------------------------------------
def clear(lab: Lab, target: str | None = None, kind: FaultKind | None = None) -> list[str]:
    """Clear the faults of one target (every target when None), of one kind or all kinds;
    says what it cleared, e.g. ["component blade-03 CPU1", "bmc *"]."""
    kinds = set(FaultKind) if kind is None else {kind}
    with lab.lock:
        if target is not None and target != ENCLOSURE:
            _system_target(lab, target)
        done = _clear_enclosure(lab, kinds) if target in (None, ENCLOSURE) else []
        if target == ENCLOSURE:
            return done
        for machine_id in list(lab.machines) if target is None else [target]:
            if machine_id in lab.machines:
                done += _clear_machine(lab, machine_id, kinds)
        if FaultKind.STORAGE_PATH in kinds:
            if target is not None:
                if restore_storage_path(lab, target):
                    done.append(f"storage-path {target}")
            elif lab.san.failed_paths:
                lab.san.failed_paths.clear()
                lab.record("fault.storage_path_cleared", system=None, identities="all")
                lab.storage_changed()
                done.append(str(FaultKind.STORAGE_PATH))
    return done


def _clear_enclosure(lab: Lab, kinds: set[FaultKind]) -> list[str]:
    done = []
    if FaultKind.BMC in kinds and clear_bmc(lab, ENCLOSURE):
        done.append(f"bmc {ENCLOSURE}")
    if FaultKind.SESSIONS_EXHAUSTED in kinds and clear_sessions(lab):
        done.append(str(FaultKind.SESSIONS_EXHAUSTED))
    if FaultKind.DROP_EVENTS in kinds and clear_drop_events(lab):
        done.append(str(FaultKind.DROP_EVENTS))
    return done


def _clear_machine(lab: Lab, machine_id: str, kinds: set[FaultKind]) -> list[str]:
    done = []
    if FaultKind.COMPONENT in kinds:
        done += [f"component {machine_id} {c}" for c in clear_components(lab, machine_id)]
    if FaultKind.POWER_LOSS in kinds and restore_power(lab, machine_id):
        done.append(f"power-loss {machine_id}")
    if FaultKind.BMC in kinds and clear_bmc(lab, machine_id):
        done.append(f"bmc {machine_id}")
    return done
