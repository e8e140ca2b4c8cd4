"""Discover every system of DMTF's mockups (and our FC fixture) served over HTTP, and check
the inventory against the JSON files, read here independently of the driver's mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.redfish import RedfishInventory, RedfishPower
from kanri.drivers.registry import DriverContext
from tests.integration.conftest import TEST_OPTIONS
from tests.integration.mockup_server import DMTF_MOCKUPS, OUR_MOCKUPS, MockupServer, mockup_file

MOCKUPS = [
    DMTF_MOCKUPS / "public-bladed-partitions",  # 3 partitions of 8 blades
    DMTF_MOCKUPS / "public-compose-action",  # 8 blade and rack servers
    DMTF_MOCKUPS / "public-composability",
    DMTF_MOCKUPS / "public-constrained-composition",
    OUR_MOCKUPS / "kanri-fc-rackmount",  # WWPNs: no DMTF mockup here has any
]


def read(root: Path, uri: str) -> dict[str, Any] | None:
    path = mockup_file(root, uri)
    return json.loads(path.read_text()) if path.is_file() else None


def members(root: Path, doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    link = doc.get(key, {}).get("@odata.id")
    collection = read(root, link) if link else None
    if collection is None:
        return []
    found = (read(root, m["@odata.id"]) for m in collection["Members"])
    return [d for d in found if d is not None]


@pytest.fixture(params=MOCKUPS, ids=lambda p: p.name)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Path, Bmc]]:
    root: Path = request.param
    assert root.is_dir(), f"mockup missing: {root} (shared/ must sit beside the repo)"
    with MockupServer(root) as server:
        yield root, Bmc(server.url, "admin", "password")


@pytest.fixture
def context() -> Iterator[DriverContext]:
    context = DriverContext(TEST_OPTIONS)
    yield context
    context.close()


def test_discover_matches_the_json_files(served: tuple[Path, Bmc], context: DriverContext) -> None:
    root, bmc = served
    found = {s.system_id: s for s in RedfishInventory(context).discover(bmc)}

    expected = members(root, read(root, "/redfish/v1/") or {}, "Systems")
    assert sorted(found) == sorted(doc["Id"] for doc in expected)
    assert len(found) >= 2
    for doc in expected:
        system = found[doc["Id"]]
        assert system.manufacturer == doc.get("Manufacturer")
        assert system.model == doc.get("Model")
        assert system.serial == doc.get("SerialNumber")
        assert system.uuid == doc.get("UUID")
        assert system.power.value == doc["PowerState"].lower()
        gib = doc.get("MemorySummary", {}).get("TotalSystemMemoryGiB")
        if gib is not None:
            assert system.memory_mib == gib * 1024
        macs = [
            n["MACAddress"].lower()
            for n in members(root, doc, "EthernetInterfaces")
            if n.get("MACAddress", "00:00:00:00:00:00") != "00:00:00:00:00:00"
        ]
        if all(len(m) == 17 for m in macs):  # our fixture also tests dash-separated ones
            assert [n.mac for n in system.nics][: len(macs)] == macs
        cores = [
            p["TotalCores"]
            for p in members(root, doc, "Processors")
            if p.get("ProcessorType", "CPU") == "CPU" and "TotalCores" in p
        ]
        core_count = doc.get("ProcessorSummary", {}).get("CoreCount")
        assert system.cpu_cores == (core_count or (sum(cores) if cores else None))


def test_fc_wwpns_and_lookup_of_an_id_that_is_not_the_uri(context: DriverContext) -> None:
    with MockupServer(OUR_MOCKUPS / "kanri-fc-rackmount") as server:
        bmc = Bmc(server.url, "admin", "password")
        inventory = RedfishInventory(context)
        rack1 = inventory.inventory(bmc, "rack-1")
        assert [p.wwpn for p in rack1.fc_ports] == [
            "10:00:00:90:fa:00:00:01",
            "20:00:00:25:b5:00:00:02",
            "10:00:00:90:fa:00:01:01",
        ]
        # served at /Systems/RenamedUri: found by Id through the collection
        assert inventory.inventory(bmc, "rack-2").serial == "SN-RACK-0002"
        # the mockup is read-only: the POST is refused and said so in one line
        with pytest.raises(BmcProtocolError, match=r"HTTP 405: read-only$"):
            RedfishPower(context).set_power(bmc, "rack-1", PowerAction.ON)
        with pytest.raises(BmcProtocolError, match="cannot restart: the BMC allows only"):
            RedfishPower(context).set_power(bmc, "rack-1", PowerAction.RESTART)
