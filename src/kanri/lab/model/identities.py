"""Port identities (virtual WWPN / MAC) and the FC boot target, as a manager sets them.

A port's ``address`` is configuration: it is what the port presents from its system's
next boot on (``Lab._powered_on`` copies it to ``presented``), as an HBA's or NIC's
firmware applies a new WWPN or MAC when it next initialises. The lab does not refuse an
address another port uses too: keeping identities unique is the manager's job, and the
invariant checker reports a volume two running systems reach.
"""

from __future__ import annotations

import re

from kanri.lab.model.lab import Lab, LabError
from kanri.lab.model.san import MAX_LUN
from kanri.lab.model.systems import Port, PortKind, System

_WWPN = re.compile(r"^([0-9A-Fa-f]{2}[:-]){7}[0-9A-Fa-f]{2}$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")


def checked_address(kind: PortKind, value: str) -> str:
    """``value`` as the lab stores addresses (lower case, colons), or a LabError."""
    if kind is PortKind.FIBRE_CHANNEL:
        pattern, name, example = _WWPN, "WWPN", "20:00:00:6b:00:01:00:00"
    else:
        pattern, name, example = _MAC, "MACAddress", "02:6b:00:01:00:00"
    if not pattern.match(value):
        raise LabError(
            f"{name} {value!r} is not eight hex pairs like {example}"
            if kind is PortKind.FIBRE_CHANNEL
            else f"{name} {value!r} is not six hex pairs like {example}",
            "Base.1.22.PropertyValueFormatError",
            400,
        )
    address = value.lower().replace("-", ":")
    if set(address) <= {"0", ":"}:
        raise LabError(
            f"{name} {value} is all zeros, which means 'no address'",
            "Base.1.22.PropertyValueError",
            400,
        )
    if kind is PortKind.ETHERNET and int(address[:2], 16) & 1:
        raise LabError(
            f"MACAddress {value} is a multicast address; a port needs a unicast one",
            "Base.1.22.PropertyValueError",
            400,
        )
    return address


def set_address(lab: Lab, system: System, port: Port, value: str | None) -> None:
    """Configure a virtual identity on ``port`` (``None`` or the permanent address
    restores the permanent one); it is presented from ``system``'s next boot."""
    with lab.lock:
        address = None if value is None else checked_address(port.kind, value)
        if address == port.permanent:
            address = None
        before = port.configured
        port.address = address
        lab.record(
            "identity.configured",
            system=system.id,
            port=port.id,
            address=port.configured,
            before=before,
            permanent=port.permanent,
            presented=port.presented,
        )


def set_boot_lun(lab: Lab, system: System, lun: int) -> None:
    with lab.lock:
        if not 0 <= lun <= MAX_LUN:
            raise LabError(
                f"LUNID {lun} is outside 0-{MAX_LUN}", "Base.1.22.PropertyValueOutOfRange", 400
            )
        before = system.boot_lun
        system.boot_lun = lun
        lab.record("boot.target", system=system.id, lun=lun, before=before)
