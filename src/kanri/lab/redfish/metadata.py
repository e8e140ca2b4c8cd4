"""``/redfish/v1/$metadata``: the OData CSDL document naming every schema the lab's
documents use, so a client can find the definition behind each ``@odata.type``.

The list is kept by hand; the sushy walk test checks that every type the lab serves is
in it.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kanri.lab.redfish.common import ROOT, error

# schema -> the versioned namespace the lab's documents use (None: unversioned only)
SCHEMAS: dict[str, str | None] = {
    "ActionInfo": "v1_5_0",
    "Bios": "v1_2_3",
    "Chassis": "v1_28_0",
    "ChassisCollection": None,
    "CompositionService": "v1_2_3",
    "ComputerSystem": "v1_27_0",
    "ComputerSystemCollection": None,
    "Connection": "v1_4_0",
    "ConnectionCollection": None,
    "Endpoint": "v1_8_2",
    "EndpointCollection": None,
    "EthernetInterface": "v1_12_4",
    "EthernetInterfaceCollection": None,
    "Event": "v1_11_0",
    "EventDestination": "v1_15_0",
    "EventDestinationCollection": None,
    "EventService": "v1_10_0",
    "Fabric": "v1_4_0",
    "FabricCollection": None,
    "Fan": "v1_6_0",
    "FanCollection": None,
    "LogEntry": "v1_21_0",
    "LogEntryCollection": None,
    "LogService": "v1_9_0",
    "LogServiceCollection": None,
    "Manager": "v1_24_0",
    "ManagerCollection": None,
    "Memory": "v1_23_0",
    "MemoryCollection": None,
    "Message": "v1_1_1",
    "MessageRegistry": "v1_7_0",
    "MessageRegistryFile": "v1_1_5",
    "MessageRegistryFileCollection": None,
    "NetworkAdapter": "v1_14_0",
    "NetworkAdapterCollection": None,
    "NetworkDeviceFunction": "v1_11_1",
    "NetworkDeviceFunctionCollection": None,
    "NetworkInterface": "v1_2_3",
    "NetworkInterfaceCollection": None,
    "PowerSubsystem": "v1_1_3",
    "PowerSupply": "v1_6_0",
    "PowerSupplyCollection": None,
    "Processor": "v1_22_0",
    "ProcessorCollection": None,
    "ResourceBlock": "v1_4_3",
    "ResourceBlockCollection": None,
    "ServiceRoot": "v1_20_0",
    "Session": "v1_8_0",
    "SessionCollection": None,
    "SessionService": "v1_2_0",
    "Settings": "v1_4_0",
    "Storage": "v1_21_0",
    "StorageCollection": None,
    "ThermalSubsystem": "v1_5_0",
    "Volume": "v1_10_2",
    "VolumeCollection": None,
    "Zone": "v1_6_3",
    "ZoneCollection": None,
}
OEM_SCHEMAS = {"KanriLab": "v1_0_0"}  # src/kanri/lab/schemas/KanriLab_v1.xml


def _reference(schema: str, version: str | None, base: str) -> str:
    includes = [f'    <edmx:Include Namespace="{schema}"/>']
    if version:
        includes.append(f'    <edmx:Include Namespace="{schema}.{version}"/>')
    file = f"{schema}_v1"
    body = "\n".join(includes)
    return f'  <edmx:Reference Uri="{base}/{file}.xml">\n{body}\n  </edmx:Reference>'


def document() -> str:
    references = [
        _reference(s, v, "http://redfish.dmtf.org/schemas/v1") for s, v in sorted(SCHEMAS.items())
    ] + [_reference(s, v, "/redfish/v1/schemas") for s, v in OEM_SCHEMAS.items()]
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
            *references,
            "  <edmx:DataServices>",
            '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">',
            '      <EntityContainer Name="Service"'
            ' Extends="ServiceRoot.v1_20_0.ServiceContainer"/>',
            "    </Schema>",
            "  </edmx:DataServices>",
            "</edmx:Edmx>",
            "",
        ]
    )


_DOCUMENT = document()


async def metadata(request: Request) -> Response:
    return Response(
        _DOCUMENT, media_type="application/xml;charset=utf-8", headers={"OData-Version": "4.0"}
    )


async def oem_schema(request: Request) -> Response:
    """The lab's own CSDL, where $metadata says it is."""
    name = request.path_params["name"]
    if name not in {f"{s}_v1.xml" for s in OEM_SCHEMAS}:
        return error(404, "ResourceMissingAtURI", f"no schema {name} here")
    text = resources.files("kanri.lab").joinpath("schemas", name).read_text()
    return Response(text, media_type="application/xml;charset=utf-8")


def routes() -> list[Route]:
    return [
        Route(f"{ROOT}/$metadata", metadata, methods=["GET"]),
        Route(f"{ROOT}/schemas/{{name}}", oem_schema, methods=["GET"]),
    ]
