"""A machine's BIOS attributes. ``SystemMode`` (Bare | Hypervisor) is the lab's one
settable attribute: it becomes the machine's mode at its next boot, as firmware applies
BIOS settings when it next initialises. The others describe the blade and are fixed."""

from __future__ import annotations

from typing import Any

from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.states import Mode
from kanri.lab.model.systems import Machine

SYSTEM_MODE = "SystemMode"
MODE_VALUES = {"Bare": Mode.BARE, "Hypervisor": Mode.HYPERVISOR}
MODE_NAMES = {mode: name for name, mode in MODE_VALUES.items()}

# Read-only attributes a blade of this kind reports; settable ones are in SETTABLE.
FIXED: dict[str, str | int] = {
    "BootMode": "Uefi",
    "ProcHyperThreading": "Enabled",
    "ProcVirtualization": "Enabled",
    "SriovGlobalEnable": "Enabled",
}
SETTABLE = {SYSTEM_MODE: sorted(MODE_VALUES)}


def attributes(machine: Machine, pending: bool = False) -> dict[str, Any]:
    """The attributes in effect, or (``pending``) those the next boot will apply."""
    mode = machine.pending_mode if pending and machine.pending_mode else machine.mode
    return {SYSTEM_MODE: MODE_NAMES[mode], **FIXED}


def set_attributes(lab: Lab, machine: Machine, changes: dict[str, Any]) -> None:
    """Validate every change before applying any; record what is now pending."""
    for name, value in changes.items():
        if name in FIXED:
            raise LabError(
                f"BIOS attribute {name} is read-only in the lab (settable: {', '.join(SETTABLE)})",
                "Base.1.22.PropertyNotWritable",
                400,
            )
        if name not in SETTABLE:
            raise LabError(
                f"{machine.id} has no BIOS attribute {name} (settable: {', '.join(SETTABLE)})",
                "Base.1.22.PropertyUnknown",
                400,
            )
        if value not in SETTABLE[name]:
            raise LabError(
                f"BIOS attribute {name} cannot be {value!r}: it is one of "
                f"{', '.join(SETTABLE[name])}",
                "Base.1.22.PropertyValueNotInList",
                400,
            )
    with lab.lock:
        if SYSTEM_MODE in changes:
            wanted = MODE_VALUES[changes[SYSTEM_MODE]]
            # asking for the mode in effect cancels a pending change
            machine.pending_mode = None if wanted is machine.mode else wanted
        lab.record(
            "bios.settings",
            system=machine.id,
            changes=dict(changes),
            mode=str(machine.mode),
            pending_mode=str(machine.pending_mode) if machine.pending_mode else None,
        )
