"""Compose and modify request bodies, checked at the edge and turned into Layouts.

Two forms, for POST /Systems and for PATCH of a partition:

- standard (Redfish specific composition): ``Links.ResourceBlocks`` lists the blocks;
  ``Oem.KanriLab`` may add ``CpuMode``, ``SharedWeight`` and ``SharedPorts`` (port ids
  whose blocks are used shared, with a virtual identity);
- OEM convenience: ``Oem.KanriLab`` gives ``Host``, ``Cores``, ``MemoryGiB``, ``CpuMode``,
  ``SharedWeight`` and ``Ports`` ([{"Port": "fc0", "Shared": true}]), and the lab picks
  the blocks. In a PATCH every key is optional: what is left out stays as it is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kanri.lab.model.composition import compose, layout_from_blocks, layout_of, modify
from kanri.lab.model.lab import Lab
from kanri.lab.model.pool import Layout
from kanri.lab.model.systems import CpuMode, Partition, PartitionPort
from kanri.lab.redfish.common import ROOT, BadRequest

BLOCKS = f"{ROOT}/CompositionService/ResourceBlocks/"
_BLOCK_KEYS = {"CpuMode", "SharedWeight", "SharedPorts"}
_LAYOUT_KEYS = {"Host", "Cores", "MemoryGiB", "CpuMode", "SharedWeight", "Ports"}


def compose_from_body(lab: Lab, body: dict[str, Any]) -> Partition:
    unknown = set(body) - {"Name", "Id", "Links", "Oem", "Description"}
    if unknown:
        raise BadRequest(
            f"property {sorted(unknown)[0]} cannot be given when composing a partition "
            "(give Name, Id, Links.ResourceBlocks, Oem.KanriLab)",
            "PropertyUnknown",
        )
    name = body.get("Name")
    if name is None:
        raise BadRequest(
            "Name is required to compose a partition", "CreateFailedMissingReqProperties"
        )
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise BadRequest("Name must be a text of 1-64 characters")
    given_id = body.get("Id")
    if given_id is not None and not isinstance(given_id, str):
        raise BadRequest("Id must be a text")
    blocks = _blocks(body)
    oem = _oem(body)
    if blocks is not None:
        _only(oem, _BLOCK_KEYS, "with Links.ResourceBlocks")
        layout = layout_from_blocks(
            lab,
            blocks,
            _cpu_mode(oem, CpuMode.DEDICATED),
            _int(oem, "SharedWeight", 100),
            _shared_ports(oem, frozenset()),
        )
        return compose(lab, given_id, name, layout, blocks)
    missing = [k for k in ("Host", "Cores", "MemoryGiB") if k not in oem]
    if missing:
        raise BadRequest(
            "give the blocks in Links.ResourceBlocks, or Oem.KanriLab with Host, Cores "
            f"and MemoryGiB (missing: {', '.join(missing)})",
            "CreateFailedMissingReqProperties",
        )
    _only(oem, _LAYOUT_KEYS, "without Links.ResourceBlocks")
    host = oem["Host"]
    if not isinstance(host, str):
        raise BadRequest("Oem.KanriLab.Host must be a machine id")
    layout = Layout(
        host,
        _int(oem, "Cores", 0),
        _int(oem, "MemoryGiB", 0),
        _cpu_mode(oem, CpuMode.DEDICATED),
        _int(oem, "SharedWeight", 100),
        _ports(oem, []),
    )
    return compose(lab, given_id, name, layout)


def modify_from_body(lab: Lab, partition: Partition, body: dict[str, Any]) -> None:
    """Apply the Links / Oem part of a PATCH to ``partition`` (nothing when neither)."""
    blocks = _blocks(body)
    oem = _oem(body)
    if blocks is None and not oem:
        return
    current = layout_of(partition)
    if blocks is not None:
        _only(oem, _BLOCK_KEYS, "with Links.ResourceBlocks")
        now_shared = frozenset(p.host_port for p in current.ports if p.shared)
        layout = layout_from_blocks(
            lab,
            blocks,
            _cpu_mode(oem, current.cpu_mode),
            _int(oem, "SharedWeight", current.shared_weight),
            _shared_ports(oem, now_shared, listed=blocks),
        )
        modify(lab, partition, layout, blocks)
        return
    _only(oem, _LAYOUT_KEYS, "without Links.ResourceBlocks")
    host = oem.get("Host", current.host)
    if not isinstance(host, str):
        raise BadRequest("Oem.KanriLab.Host must be a machine id")
    layout = replace(
        current,
        host=host,
        cores=_int(oem, "Cores", current.cores),
        memory_gib=_int(oem, "MemoryGiB", current.memory_gib),
        cpu_mode=_cpu_mode(oem, current.cpu_mode),
        shared_weight=_int(oem, "SharedWeight", current.shared_weight),
        ports=_ports(oem, current.ports),
    )
    modify(lab, partition, layout)


def _blocks(body: dict[str, Any]) -> list[str] | None:
    links = body.get("Links")
    if links is None:
        return None
    if not isinstance(links, dict):
        raise BadRequest("Links must be an object")
    unknown = set(links) - {"ResourceBlocks"}
    if unknown:
        raise BadRequest(
            f"Links.{sorted(unknown)[0]} cannot be set (only Links.ResourceBlocks)",
            "PropertyNotWritable",
        )
    refs = links.get("ResourceBlocks")
    if refs is None:
        return None
    if not isinstance(refs, list):
        raise BadRequest("Links.ResourceBlocks must be a list of links")
    found: list[str] = []
    for item in refs:
        path = item.get("@odata.id") if isinstance(item, dict) else None
        if not isinstance(path, str) or not path.startswith(BLOCKS):
            raise BadRequest(
                f'each member of Links.ResourceBlocks must be {{"@odata.id": '
                f'"{BLOCKS}<block id>"}}, not {item!r}',
                "PropertyValueFormatError",
            )
        found.append(path[len(BLOCKS) :].rstrip("/"))
    return found


def _oem(body: dict[str, Any]) -> dict[str, Any]:
    oem = body.get("Oem")
    if oem is None:
        return {}
    if not isinstance(oem, dict) or set(oem) - {"KanriLab"}:
        raise BadRequest("Oem may only hold KanriLab", "PropertyUnknown")
    ours = oem.get("KanriLab", {})
    if not isinstance(ours, dict):
        raise BadRequest("Oem.KanriLab must be an object")
    return {k: v for k, v in ours.items() if k != "@odata.type"}


def _only(oem: dict[str, Any], allowed: set[str], form: str) -> None:
    extra = set(oem) - allowed
    if extra:
        raise BadRequest(
            f"Oem.KanriLab.{sorted(extra)[0]} cannot be given {form} (there: "
            f"{', '.join(sorted(allowed))})",
            "PropertyUnknown",
        )


def _int(oem: dict[str, Any], key: str, default: int) -> int:
    value = oem.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"Oem.KanriLab.{key} must be a whole number, not {value!r}")
    return value


def _cpu_mode(oem: dict[str, Any], default: CpuMode) -> CpuMode:
    value = oem.get("CpuMode", default)
    try:
        return CpuMode(value)
    except ValueError:
        raise BadRequest(
            f"Oem.KanriLab.CpuMode {value!r} is not Dedicated or Shared",
            "PropertyValueNotInList",
        ) from None


def _ports(oem: dict[str, Any], default: list[PartitionPort]) -> list[PartitionPort]:
    if "Ports" not in oem:
        return list(default)
    value = oem["Ports"]
    if not isinstance(value, list):
        raise BadRequest('Oem.KanriLab.Ports must be a list like [{"Port": "fc0"}]')
    ports: list[PartitionPort] = []
    for item in value:
        port = item.get("Port") if isinstance(item, dict) else None
        shared = item.get("Shared", False) if isinstance(item, dict) else None
        if not isinstance(port, str) or not isinstance(shared, bool):
            raise BadRequest(
                'each of Oem.KanriLab.Ports must be {"Port": "fc0", "Shared": true|false}, '
                f"not {item!r}"
            )
        ports.append(PartitionPort(port, shared))
    return ports


def _shared_ports(
    oem: dict[str, Any], default: frozenset[str], listed: list[str] | None = None
) -> frozenset[str]:
    value = oem.get("SharedPorts")
    if value is None:
        if listed is None:
            return default
        # a PATCH keeps the ports that were shared and are still listed
        return frozenset(p for p in default if any(b.endswith(f"-port-{p}") for b in listed))
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise BadRequest('Oem.KanriLab.SharedPorts must be a list of port ids like ["fc0"]')
    return frozenset(value)
