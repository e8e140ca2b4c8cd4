"""The Redfish monitor driver's own manners against the lab: what a poll costs, the cheap
poll of a healthy system, partitions, and origins it has not polled yet."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kanri.domain.model import Bmc
from kanri.domain.states import Health
from kanri.drivers.redfish.monitor import FULL_WALK_EVERY, RedfishMonitor, walk_offset
from kanri.drivers.redfish.sessions import RedfishClient
from kanri.drivers.registry import Drivers
from kanri.lab.config import LabConfig
from kanri.lab.model.faults import clear_components, fail_component
from kanri.lab.model.systems import ComponentKind
from kanri.lab.model.systems import Health as LabHealth
from kanri.lab.server import LabServer
from tests.integration.conftest import TEST_OPTIONS


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    config = LabConfig.from_dict(
        {
            "scale": 50.0,
            "machines": [
                {"id": "b1", "power": "On"},
                {"id": "b2", "power": "On"},
                {"id": "hv", "mode": "hypervisor", "cores": 32, "memory_gib": 64, "power": "On"},
            ],
            "partitions": [{"id": "p1", "host": "hv", "cores": 4, "memory_gib": 8}],
        }
    )
    with LabServer(config, tmp_path_factory.mktemp("redfish-monitor")) as server:
        yield server


@pytest.fixture
def monitor() -> Iterator[RedfishMonitor]:
    drivers = Drivers(TEST_OPTIONS)
    driver = drivers.monitor("redfish")
    assert isinstance(driver, RedfishMonitor)
    yield driver
    drivers.close()


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every GET the driver makes through its client."""
    made: list[str] = []
    for name in ("get", "get_optional"):  # get_present reads through get
        original = getattr(RedfishClient, name)

        def counted(self: RedfishClient, path: str, _original: Any = original) -> Any:
            made.append(path)
            return _original(self, path)

        monkeypatch.setattr(RedfishClient, name, counted)
    return made


def _bmc(lab: LabServer) -> Bmc:
    return Bmc(lab.url, "admin", "password")


def test_a_healthy_system_costs_three_requests_and_a_full_walk_now_and_then(
    lab: LabServer, monitor: RedfishMonitor, requests_made: list[str]
) -> None:
    bmc = _bmc(lab)
    cursor = monitor.poll(bmc, "b1", None).sel_cursor
    walk = len(requests_made)
    assert walk > 20  # the first poll reads every part and finds the SEL
    costs = []
    cheap = FULL_WALK_EVERY - 1 - walk_offset("b1")  # systems start spread in the cycle
    for _ in range(cheap + 1):
        requests_made.clear()
        report = monitor.poll(bmc, "b1", cursor)
        costs.append(len(requests_made))
        assert len(report.components) == 16
        assert all(c.health is Health.OK for c in report.components)
    # system, its chassis, the SEL entries; then one full walk again
    assert costs[:-1] == [3] * cheap
    assert costs[-1] > 20
    # from then on, the whole cycle
    costs = []
    for _ in range(FULL_WALK_EVERY):
        requests_made.clear()
        monitor.poll(bmc, "b1", cursor)
        costs.append(len(requests_made))
    assert costs[:-1] == [3] * (FULL_WALK_EVERY - 1)
    assert costs[-1] > 20


def test_a_fault_is_walked_and_its_end_is_seen_on_the_cheap_poll(
    lab: LabServer, monitor: RedfishMonitor
) -> None:
    assert lab.lab is not None
    bmc = _bmc(lab)
    cursor = monitor.poll(bmc, "b2", None).sel_cursor
    fail_component(lab.lab, "b2", ComponentKind.FAN, "Fan3", severity=LabHealth.WARNING)
    report = monitor.poll(bmc, "b2", cursor)
    assert [(c.id, c.health) for c in report.components if c.health is not Health.OK] == [
        ("Fan3", Health.WARNING)
    ]
    clear_components(lab.lab, "b2")
    mended = monitor.poll(bmc, "b2", report.sel_cursor)
    assert mended.rollup is Health.OK
    assert all(c.health is Health.OK for c in mended.components)
    assert [e.component for e in mended.sel] == ["Fan3"]  # the OK line


def test_a_partition_reports_no_parts_of_its_hosts_chassis(
    lab: LabServer, monitor: RedfishMonitor
) -> None:
    report = monitor.poll(_bmc(lab), "p1", None)
    assert report.components == ()
    assert report.sel_cursor is not None  # partitions have a SEL of their own


def test_an_origin_under_a_chassis_not_polled_yet_is_looked_up_once(
    lab: LabServer, monitor: RedfishMonitor, requests_made: list[str]
) -> None:
    body = {
        "Id": "1",
        "Events": [
            {
                "EventId": "1",
                "MessageId": "ResourceEvent.1.4.ResourceStatusChangedCritical",
                "MessageSeverity": "Critical",
                "OriginOfCondition": {
                    "@odata.id": "/redfish/v1/Chassis/hv/PowerSubsystem/PowerSupplies/PSU2"
                },
            }
        ],
    }
    (event,) = monitor.parse_event(_bmc(lab), body)
    assert (event.system_id, event.component) == ("hv", "PSU2")
    looked = len(requests_made)
    assert monitor.parse_event(_bmc(lab), body)[0].system_id == "hv"
    assert len(requests_made) == looked  # remembered
    enclosure = {"Events": [{"OriginOfCondition": "/redfish/v1/Chassis/Enclosure"}]}
    assert monitor.parse_event(_bmc(lab), enclosure)[0].system_id is None
