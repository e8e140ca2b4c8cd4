"""The faults in effect now, read back from the lab's state (see faults.py): one entry
per fault, in the shape the control API takes them, so a listing can be fed back in."""

from __future__ import annotations

from typing import Any

from kanri.lab.model.faults import ENCLOSURE, BmcMode, FaultKind
from kanri.lab.model.lab import Lab
from kanri.lab.model.san import normalize_identity
from kanri.lab.model.systems import Health


def active(lab: Lab) -> list[dict[str, Any]]:
    """Every fault in effect now, one entry each, in a stable order."""
    found: list[dict[str, Any]] = []
    with lab.lock:
        for machine in lab.machines.values():
            for c in machine.components:
                if c.health is not Health.OK:
                    found.append(
                        {
                            "kind": str(FaultKind.COMPONENT),
                            "target": machine.id,
                            "component": str(c.kind),
                            "id": c.id,
                            "severity": str(c.health).lower(),
                        }
                    )
            if machine.id in lab.unpowered:
                fault = lab.bmc_faults.get(machine.id)
                found.append(
                    {
                        "kind": str(FaultKind.POWER_LOSS),
                        "target": machine.id,
                        "with_bmc": bool(fault and fault.dead),
                    }
                )
        for key, fault in sorted(lab.bmc_faults.items()):
            mode = (
                BmcMode.SILENT
                if fault.silent
                else BmcMode.UNAVAILABLE
                if fault.unavailable
                else BmcMode.SLOW
                if fault.slow
                else None
            )
            if mode is not None:
                entry: dict[str, Any] = {"kind": str(FaultKind.BMC), "target": key}
                entry["mode"] = str(mode)
                if mode is BmcMode.SLOW:
                    entry["seconds"] = fault.slow
                found.append(entry)
            if fault.sessions_exhausted:
                found.append({"kind": str(FaultKind.SESSIONS_EXHAUSTED), "target": ENCLOSURE})
        if lab.events.drop_remaining:
            remaining = lab.events.drop_remaining
            found.append(
                {
                    "kind": str(FaultKind.DROP_EVENTS),
                    "target": ENCLOSURE,
                    "count": "all" if remaining < 0 else remaining,
                }
            )
        failed = set(lab.san.failed_paths)
        for system in lab.systems():
            mine = failed & {normalize_identity(i) for i in system.identities()}
            if mine:
                found.append(
                    {
                        "kind": str(FaultKind.STORAGE_PATH),
                        "target": system.id,
                        "identities": sorted(mine),
                    }
                )
                failed -= mine
        if failed:  # identities nobody presents now (a port re-addressed since)
            found.append(
                {"kind": str(FaultKind.STORAGE_PATH), "target": None, "identities": sorted(failed)}
            )
    return found
