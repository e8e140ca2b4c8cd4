"""Redfish composition payloads (shaped as the lab serves them) to partition values, and
Redfish refusals to domain errors."""

from __future__ import annotations

from typing import Any

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.partitions import CpuMode, MachineMode, PortKind, PortUse
from kanri.domain.states import PowerState
from kanri.drivers.redfish.mapping import MalformedAnswer
from kanri.drivers.redfish.partitions_mapping import (
    block_of,
    check_identity,
    function_of,
    partition_of,
    pool_of,
    refusal,
)

BLOCKS = "/redfish/v1/CompositionService/ResourceBlocks"


def error(message_id: str, message: str) -> dict[str, Any]:
    return {"code": message_id, "message": message,
            "@Message.ExtendedInfo": [{"MessageId": message_id, "Message": message}]}  # fmt: skip


@pytest.mark.parametrize(
    ("status", "message_id", "kind"),
    [
        (409, "Base.1.22.ResourceExhaustion", Conflict),
        (409, "Composition.1.1.ResourceBlockInUse", Conflict),
        (409, "Base.1.22.PropertyValueResourceConflict", Conflict),
        (409, "Base.1.22.ResourceInUse", Conflict),
        (404, "Base.1.22.ResourceMissingAtURI", NotFound),
        (400, "Base.1.22.PropertyValueError", Invalid),
        (405, "Base.1.22.OperationNotAllowed", Invalid),
    ],
)
def test_refusals_keep_the_bmc_message(status: int, message_id: str, kind: type) -> None:
    message = "blade-05 cannot give 13 dedicated cores: 12 of its 16 cores are free"
    found = refusal(status, error(message_id, message), message, "create x")
    assert isinstance(found, kind)
    assert str(found) == message


def test_bmc_trouble_is_not_a_refusal() -> None:
    assert refusal(500, {}, "boom", "create x") is None
    assert refusal(503, {}, None, "create x") is None
    assert str(refusal(409, {}, None, "delete p")) == "delete p: refused (HTTP 409)"


def test_a_partition_document_becomes_its_spec() -> None:
    doc = {
        "Id": "app-1", "Name": "app-1", "SystemType": "VirtuallyPartitioned", "PowerState": "On",
        "ProcessorSummary": {"CoreCount": 2}, "MemorySummary": {"TotalSystemMemoryGiB": 16},
        "Links": {"ResourceBlocks": [{"@odata.id": f"{BLOCKS}/blade-05-cpu-{n}"} for n in (7, 3)]
                  + [{"@odata.id": f"{BLOCKS}/blade-05-mem-0"}]},
        "Oem": {"KanriLab": {"Host": "blade-05", "CpuMode": "Shared", "SharedWeight": 50,
                             "Ports": [{"Port": "fc0", "Shared": True}, {"Port": "nic1"}]}},
    }  # fmt: skip
    part = partition_of(doc, {"fc0": "2a:00:00:6b:05:01:02:03"})
    assert (part.id, part.host, part.power) == ("app-1", "blade-05", PowerState.ON)
    assert part.spec.cpu_mode is CpuMode.SHARED
    assert part.spec.cpus == (3, 7)
    assert part.spec.ports == (
        PortUse("fc0", True, "2a:00:00:6b:05:01:02:03"),
        PortUse("nic1", False, None),
    )
    with pytest.raises(MalformedAnswer, match="Host"):
        partition_of({**doc, "Oem": {}})


def _block(kind: str, key: str, users: tuple[str, ...] = (), shared: bool = False,
           state: str = "Composed") -> dict[str, Any]:  # fmt: skip
    status = {"CompositionState": state if users else "Unused", "SharingEnabled": shared,
              "MaxCompositions": 1 if kind == "mem" else 4}  # fmt: skip
    types = {"cpu": "Processor", "mem": "Memory", "port": "Network"}
    return {"@odata.id": f"{BLOCKS}/h-{kind}-{key}", "Id": f"h-{kind}-{key}",
            "ResourceBlockType": [types[kind]], "CompositionStatus": status,
            "Links": {"ComputerSystems": [{"@odata.id": f"/redfish/v1/Systems/{u}"}
                                          for u in users]}}  # fmt: skip


def test_blocks_make_a_pool_with_who_holds_what() -> None:
    blocks = [
        block_of(_block("cpu", "0", ("a",))),
        block_of(_block("cpu", "1", ("b", "c"), shared=True)),
        block_of(_block("cpu", "2")),
        block_of(_block("mem", "0", ("a",))),
        block_of(_block("mem", "1")),
        block_of(_block("port", "fc0", ("b",), shared=True)),
    ]
    function = function_of(
        {"@odata.id": "/f/fc0", "Id": "fc0", "FibreChannel": {
            "WWPN": "20:00:00:6b:05:00:00:00", "PermanentWWPN": "20:00:00:6b:05:00:00:00"}},
        "h",
    )  # fmt: skip
    pool = pool_of("h", blocks, [function])
    assert (pool.mode, pool.cores, pool.memory_gib, pool.memory_used_gib) == (
        MachineMode.HYPERVISOR, 3, 16, 8)  # fmt: skip
    assert pool.core_use == (("a",), ("b", "c"), ())
    assert pool.dedicated_cores == frozenset({0})
    (port,) = pool.ports
    assert (port.id, port.kind, port.identity) == ("fc0", PortKind.FC, "20:00:00:6b:05:00:00:00")
    assert (port.dedicated_to, port.shared_by) == (None, ("b",))
    bare = pool_of("h", [block_of(_block("cpu", "0", ("a",), state="Unavailable"))], [])
    assert bare.mode is MachineMode.BARE
    assert pool_of("h", [], []).cores == 0


def test_a_virtual_function_names_its_port() -> None:
    doc = {"@odata.id": "/f/app-1-fc0", "Id": "app-1-fc0",
           "FibreChannel": {"WWPN": "2a:00:00:6b:05:01:02:03"},
           "Oem": {"KanriLab": {"Virtual": True}}}  # fmt: skip
    function = function_of(doc, "app-1")
    assert (function.port, function.virtual, function.kind) == ("fc0", True, PortKind.FC)


def test_identities_are_checked_by_kind() -> None:
    check_identity("20:00:00:6b:05:00:00:00", PortKind.FC, "x")
    check_identity("02-6b-00-00-00-01", PortKind.NIC, "x")
    with pytest.raises(Invalid, match="x: identity '02:6b:00:00:00:01' is not a WWPN"):
        check_identity("02:6b:00:00:00:01", PortKind.FC, "x")
    with pytest.raises(Invalid, match=r"is not a WWPN \(8 hex pairs\) or a MAC"):
        check_identity("zz", None, "x")
