"""sushy, the field's Redfish client, reads every resource the lab serves.

The test walks every link from the service root and opens each document with sushy's own
resource class for its type, or, where sushy 5.14 has none (Memory, LogService, the
PowerSubsystem family, Connection, ...), with a small class built on
``sushy.resources.base`` the way a client would add one. A type with neither fails the
test, so a new kind of resource in the lab must be read by sushy before it lands.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import sushy
from sushy.resources import base, common
from sushy.resources.chassis import chassis
from sushy.resources.compositionservice import compositionservice, resourceblock, resourcezone
from sushy.resources.eventservice import eventdestination, eventservice
from sushy.resources.fabric import endpoint, fabric
from sushy.resources.manager import manager
from sushy.resources.registry import message_registry_file
from sushy.resources.sessionservice import session, sessionservice
from sushy.resources.system import bios, ethernet_interface, processor, system
from sushy.resources.system.network import adapter, device_function
from sushy.resources.system.storage import storage, volume

from tests.integration.lab.conftest import ServeLab
from tests.integration.lab.test_redfish_validator import LAB


class Generic(base.ResourceBase):  # type: ignore[misc]  # sushy ships no types
    """For the types sushy 5.14 does not model: what every Redfish resource has."""

    identity = base.Field("Id", required=True)
    name = base.Field("Name")
    status = common.StatusField("Status")


class GenericCollection(base.ResourceCollectionBase):  # type: ignore[misc]
    @property
    def _resource_type(self) -> type[base.ResourceBase]:
        return Generic


SUSHY: dict[str, type[base.ResourceBase]] = {
    "ServiceRoot": sushy.main.Sushy,
    "ComputerSystemCollection": system.SystemCollection,
    "ComputerSystem": system.System,
    "ProcessorCollection": processor.ProcessorCollection,
    "Processor": processor.Processor,
    "EthernetInterfaceCollection": ethernet_interface.EthernetInterfaceCollection,
    "EthernetInterface": ethernet_interface.EthernetInterface,
    "Bios": bios.Bios,
    "ChassisCollection": chassis.ChassisCollection,
    "Chassis": chassis.Chassis,
    "NetworkAdapterCollection": adapter.NetworkAdapterCollection,
    "NetworkAdapter": adapter.NetworkAdapter,
    "NetworkDeviceFunctionCollection": device_function.NetworkDeviceFunctionCollection,
    "NetworkDeviceFunction": device_function.NetworkDeviceFunction,
    "ManagerCollection": manager.ManagerCollection,
    "Manager": manager.Manager,
    "SessionService": sessionservice.SessionService,
    "SessionCollection": session.SessionCollection,
    "Session": session.Session,
    "EventService": eventservice.EventService,
    "EventDestinationCollection": eventdestination.EventDestinationCollection,
    "EventDestination": eventdestination.EventDestination,
    "CompositionService": compositionservice.CompositionService,
    "ResourceBlockCollection": resourceblock.ResourceBlockCollection,
    "ResourceBlock": resourceblock.ResourceBlock,
    "ResourceZoneCollection": resourcezone.ResourceZoneCollection,
    "ResourceZone": resourcezone.ResourceZone,
    "ZoneCollection": resourcezone.ResourceZoneCollection,  # the Redfish type names
    "Zone": resourcezone.ResourceZone,
    "StorageCollection": storage.StorageCollection,
    "Storage": storage.Storage,
    "VolumeCollection": volume.VolumeCollection,
    "Volume": volume.Volume,
    "FabricCollection": fabric.FabricCollection,
    "Fabric": fabric.Fabric,
    "EndpointCollection": endpoint.EndpointCollection,
    "Endpoint": endpoint.Endpoint,
    "MessageRegistryFileCollection": message_registry_file.MessageRegistryFileCollection,
    "MessageRegistryFile": message_registry_file.MessageRegistryFile,
    "ActionInfo": common.ActionInfo,
}
# sushy 5.14 has no class for these: read them with Generic / GenericCollection.
UNMODELLED = {
    "Memory", "PowerSubsystem", "ThermalSubsystem", "PowerSupply", "Fan", "LogService",
    "LogEntry", "Connection", "MessageRegistry", "NetworkInterface",
}  # fmt: skip


def _links(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@odata.id" and isinstance(value, str) and "#" not in value:
                found.append(value)
            else:
                found.extend(_links(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_links(item))
    return found


def _type_name(doc: dict[str, Any]) -> str:
    return str(doc.get("@odata.type", "")).rsplit(".", 1)[-1]


def test_sushy_reads_every_resource_the_lab_serves(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    assert server.lab is not None
    server.lab.log_sel(server.lab.machine("blade-02"), "Warning", "NMI", "KanriLab.1.0.Nmi")
    root = sushy.Sushy(f"{server.url}/redfish/v1", "admin", "password")
    conn = root._conn
    seen: set[str] = set()
    queue = deque(["/redfish/v1/"])
    read: dict[str, int] = {}
    while queue:
        path = queue.popleft().rstrip("/") or "/"
        if path in seen or not path.startswith("/redfish/v1"):
            continue
        seen.add(path)
        doc = conn.get(path).json()
        type_name = _type_name(doc)
        if type_name in SUSHY:
            cls = SUSHY[type_name]
        elif type_name in UNMODELLED:
            cls = Generic
        elif type_name.endswith("Collection") and type_name[: -len("Collection")] in UNMODELLED:
            cls = GenericCollection
        else:
            raise AssertionError(f"{path}: no sushy class for {type_name!r}: add one above")
        if cls is sushy.main.Sushy:
            resource: base.ResourceBase = root
        else:
            resource = cls(conn, path, redfish_version=root.redfish_version)
        if isinstance(resource, base.ResourceCollectionBase):
            assert len(resource.members_identities) == len(doc["Members"]), path
        elif resource is not root:
            assert resource.identity == doc["Id"], path
        read[type_name] = read.get(type_name, 0) + 1
        queue.extend(_links(doc))

    # $metadata names the schema of every type the walk met.
    metadata = conn.get("/redfish/v1/$metadata").text
    for type_name in read:
        schema = type_name if type_name != "Sushy" else "ServiceRoot"
        assert f'Namespace="{schema}"' in metadata, f"$metadata lacks {schema}"
    oem = conn.get("/redfish/v1/schemas/KanriLab_v1.xml").text
    assert 'Namespace="KanriLab.v1_0_0"' in oem
    # The walk really covered the lab: systems of both kinds, partitions' blocks, the SAN.
    assert read["ComputerSystem"] == 5
    assert {"ResourceBlock", "Volume", "Bios", "NetworkDeviceFunction", "LogEntry"} <= set(read)
