"""Swordfish/Redfish storage documents to domain values, and back. Pure: no I/O.

A Volume is a volume; a fabric Connection of type Storage is a host group: its
``VolumeInfo`` entries are LUN mappings, its initiators are its ``InitiatorEndpoints``
(each endpoint's durable name), or ``Oem.KanriLab.Initiators`` when the array lists
them there, as the kanri lab does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kanri.domain.errors import Invalid
from kanri.domain.storage import HostGroup, Volume, normalize_initiator
from kanri.drivers.redfish.mapping import JsonDoc, MalformedAnswer, link

READ_WRITE = ["Read", "Write"]


def last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def expanded_members(collection: JsonDoc) -> list[JsonDoc] | None:
    """The members of a collection read with ``$expand``, or None when the service gave
    links only (it need not support ``$expand``)."""
    members = collection.get("Members")
    if not isinstance(members, list) or collection.get("Members@odata.nextLink"):
        return None
    if all(isinstance(m, dict) and "Id" in m for m in members):
        return members
    return None


def _text(doc: JsonDoc, key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedAnswer(f"{doc.get('@odata.id', '?')} has no {key}")
    return value


def volume_of(doc: JsonDoc) -> Volume:
    capacity = doc.get("CapacityBytes")
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise MalformedAnswer(f"volume {doc.get('@odata.id', '?')} has no CapacityBytes")
    durable = None
    for identifier in doc.get("Identifiers") or []:
        if isinstance(identifier, dict) and isinstance(identifier.get("DurableName"), str):
            durable = identifier["DurableName"]
            break
    volume_id = _text(doc, "Id")
    return Volume(volume_id, doc.get("Name") or volume_id, capacity, durable)


def _identity(text: str, where: object) -> str:
    """An initiator the array listed, normalized; one kanri cannot read is the array's
    fault (a malformed answer), not the caller's."""
    try:
        return normalize_initiator(text)
    except Invalid as exc:
        raise MalformedAnswer(f"{where}: {exc}") from None


def oem_initiators(doc: JsonDoc) -> frozenset[str] | None:
    """``Oem.KanriLab.Initiators``, or None when the array does not list them there."""
    oem = doc.get("Oem")
    kanri = oem.get("KanriLab") if isinstance(oem, dict) else None
    listed = kanri.get("Initiators") if isinstance(kanri, dict) else None
    if listed is None:
        return None
    where = doc.get("@odata.id", "?")
    if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
        raise MalformedAnswer(f"{where}: Oem.KanriLab.Initiators is no list of identities")
    return frozenset(_identity(i, where) for i in listed)


def endpoint_links(doc: JsonDoc) -> list[str]:
    refs = (doc.get("Links") or {}).get("InitiatorEndpoints") or []
    return [r["@odata.id"] for r in refs if isinstance(r, dict) and "@odata.id" in r]


def endpoint_identity(doc: JsonDoc) -> str:
    """The initiator identity of an endpoint: its first durable name."""
    for identifier in doc.get("Identifiers") or []:
        if isinstance(identifier, dict) and isinstance(identifier.get("DurableName"), str):
            return _identity(identifier["DurableName"], doc.get("@odata.id", "?"))
    raise MalformedAnswer(f"endpoint {doc.get('@odata.id', '?')} has no durable name")


def luns_of(doc: JsonDoc) -> dict[int, str]:
    luns: dict[int, str] = {}
    for entry in doc.get("VolumeInfo") or []:
        path = link(entry, "Volume") if isinstance(entry, dict) else None
        lun = entry.get("LUN") if isinstance(entry, dict) else None
        if path is None or not isinstance(lun, int) or isinstance(lun, bool):
            raise MalformedAnswer(
                f"{doc.get('@odata.id', '?')}: a VolumeInfo entry lacks its Volume or LUN"
            )
        luns[lun] = last_segment(path)
    return luns


def host_group_of(doc: JsonDoc, initiators: frozenset[str]) -> HostGroup:
    group_id = _text(doc, "Id")
    return HostGroup(group_id, doc.get("Name") or group_id, initiators, luns_of(doc))


def volume_info(volumes_path: str, luns: Mapping[int, str]) -> list[dict[str, Any]]:
    """A host group's mappings as the ``VolumeInfo`` list a PATCH replaces whole."""
    return [
        {
            "Volume": {"@odata.id": f"{volumes_path}/{volume}"},
            "LUN": lun,
            "AccessCapabilities": READ_WRITE,
        }
        for lun, volume in sorted(luns.items())
    ]


def initiators_body(initiators: Iterable[str]) -> dict[str, Any]:
    """Initiators by identity: no endpoint needs to exist for them first."""
    return {"Oem": {"KanriLab": {"Initiators": sorted(initiators)}}}
