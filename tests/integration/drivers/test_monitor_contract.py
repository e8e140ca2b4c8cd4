"""What every MonitorDriver must do, run against every registered one: the fake, and the
Redfish driver against kanri's lab (a real Redfish service over HTTP, faults injected in
its model). sushy-tools offers health but no SEL and no EventService: its part is below.

A newly registered monitor driver fails here until it is given a target in ``TARGETS``.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from kanri.domain.health import PushedEvent
from kanri.domain.model import Bmc
from kanri.domain.states import Health, PowerState
from kanri.drivers.base import (
    BmcAuthFailed,
    BmcProtocolError,
    BmcUnreachable,
    MonitorDriver,
    SystemNotFound,
)
from kanri.drivers.fake.monitor import monitor_world_of
from kanri.drivers.fake.world import FAKE_PASSWORD_REJECTED
from kanri.drivers.registry import Drivers, available
from kanri.lab.config import LabConfig
from kanri.lab.model.faults import fail_component
from kanri.lab.model.systems import ComponentKind
from kanri.lab.server import LabServer
from kanri.lab.sushy_emulator import SushyEmulator, free_port
from tests.integration.conftest import TEST_OPTIONS
from tests.peers.http import serving
from tests.waiting import wait_for

CRITICAL_CHANGE = "ResourceStatusChangedCritical"
_fake_names = itertools.count(1)
_machines = itertools.count(1)
MACHINES = 12  # the lab's; each test takes its own


@dataclass
class Target:
    """A BMC the driver under test can reach, and how to make things happen on it."""

    bmc: Bmc
    wrong_password: Bmc
    unreachable: Bmc
    system_id: str  # a machine no other test touches
    power: PowerState  # what it is at
    fail_dimm: Callable[[str], object]  # that part goes Critical (SEL line + event)
    write_sel: Callable[[str], object]  # an informational SEL line
    clear_sel: Callable[[], object]  # the BMC's ClearLog: one "cleared" line, ids from 1
    emit: Callable[[], object]  # some harmless event


def _fake_target(drivers: Drivers, request: pytest.FixtureRequest) -> Target:
    url = f"fake://monitor-{next(_fake_names)}?systems=2"
    world = monitor_world_of(drivers.context)
    bmc = Bmc(url, "admin", "secret")
    return Target(
        bmc=bmc,
        wrong_password=Bmc(url, "admin", FAKE_PASSWORD_REJECTED),
        unreachable=Bmc(f"http://127.0.0.1:{free_port()}", "admin", "secret"),
        system_id="2",
        power=PowerState.OFF,
        fail_dimm=lambda part: world.fail_component(url, "2", part),
        write_sel=lambda text: world.add_sel(url, "2", text),
        clear_sel=lambda: world.clear_sel(url, "2"),
        emit=lambda: world.push(url, None, "Test.1.0.Ping", Health.OK, "ping"),
    )


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    config = LabConfig.from_dict(
        {
            "scale": 50.0,
            "machines": [{"id": f"m{i:02d}", "power": "On"} for i in range(1, MACHINES + 1)],
        }
    )
    with LabServer(config, tmp_path_factory.mktemp("monitor-lab")) as server:
        yield server


def _lab_target(drivers: Drivers, request: pytest.FixtureRequest) -> Target:
    server: LabServer = request.getfixturevalue("lab_server")
    lab = server.lab
    assert lab is not None
    machine = f"m{next(_machines):02d}"
    assert machine in lab.machines, "add machines to the lab fixture"
    client = httpx.Client(base_url=server.url, auth=("admin", "password"), timeout=10)
    request.addfinalizer(client.close)

    def write_sel(text: str) -> None:
        with lab.lock:
            lab.add_sel(lab.machines[machine], "OK", text, "KanriLab.1.0.Note")

    def clear_sel() -> None:
        answer = client.post(
            f"/redfish/v1/Systems/{machine}/LogServices/SEL/Actions/LogService.ClearLog", json={}
        )
        assert answer.status_code == 204, answer.text

    def emit() -> None:
        answer = client.post(
            "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
            json={"Message": "ping", "MessageSeverity": "OK"},
        )
        assert answer.status_code == 204, answer.text

    return Target(
        bmc=Bmc(server.url, "admin", "password"),
        wrong_password=Bmc(server.url, "admin", "not-the-password"),
        unreachable=Bmc(f"http://127.0.0.1:{free_port()}", "admin", "password"),
        system_id=machine,
        power=PowerState.ON,
        fail_dimm=lambda part: fail_component(lab, machine, ComponentKind.DIMM, part),
        write_sel=write_sel,
        clear_sel=clear_sel,
        emit=emit,
    )


TARGETS: dict[str, tuple[str, Callable[[Drivers, pytest.FixtureRequest], Target]]] = {
    "fake": ("fake", _fake_target),
    "redfish@lab": ("redfish", _lab_target),
}


def test_every_registered_monitor_driver_has_a_contract_target() -> None:
    missing = set(available("monitor")) - {driver for driver, _ in TARGETS.values()}
    assert not missing, f"monitor drivers without a contract target: {missing}"


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers(TEST_OPTIONS)
    yield drivers
    drivers.close()


@pytest.fixture(params=sorted(TARGETS))
def target_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def monitor(drivers: Drivers, target_name: str) -> MonitorDriver:
    return drivers.monitor(TARGETS[target_name][0])


@pytest.fixture
def target(drivers: Drivers, request: pytest.FixtureRequest, target_name: str) -> Target:
    return TARGETS[target_name][1](drivers, request)


# polls ----------------------------------------------------------------------------------
def test_implements_the_protocol(monitor: MonitorDriver) -> None:
    assert isinstance(monitor, MonitorDriver)


def test_a_dimm_fault_shows_in_the_poll_and_its_sel_line_comes_once(
    monitor: MonitorDriver, target: Target
) -> None:
    first = monitor.poll(target.bmc, target.system_id, None)
    assert (first.system_id, first.rollup, first.power) == (
        target.system_id,
        Health.OK,
        target.power,
    )
    dimms = {c.id: c for c in first.components if c.kind == "dimm"}
    assert "DIMM3" in dimms
    assert dimms["DIMM3"].health is Health.OK
    assert {c.kind for c in first.components} >= {"cpu", "dimm", "psu", "fan"}
    assert first.sel == ()  # a first poll reports no history, only where it ends
    assert first.sel_cursor is not None

    target.fail_dimm("DIMM3")
    second = monitor.poll(target.bmc, target.system_id, first.sel_cursor)
    assert second.rollup is Health.CRITICAL
    bad = [(c.id, c.health) for c in second.components if c.health is not Health.OK]
    assert bad == [("DIMM3", Health.CRITICAL)]
    (line,) = second.sel
    assert (line.severity, line.component) == (Health.CRITICAL, "DIMM3")
    assert CRITICAL_CHANGE in line.message_id

    third = monitor.poll(target.bmc, target.system_id, second.sel_cursor)
    assert third.sel == ()
    assert [c.id for c in third.components if c.health is Health.CRITICAL] == ["DIMM3"]


def test_a_cleared_log_loses_no_new_line_and_repeats_no_old_one(
    monitor: MonitorDriver, target: Target
) -> None:
    for i in range(3):
        target.write_sel(f"before {i}")
    cursor = monitor.poll(target.bmc, target.system_id, None).sel_cursor
    target.clear_sel()
    for i in range(5):  # past the old cursor's id: ids alone would hide these
        target.write_sel(f"after {i}")
    report = monitor.poll(target.bmc, target.system_id, cursor)
    messages = [e.message for e in report.sel]
    assert messages[1:] == [f"after {i}" for i in range(5)]
    assert "clear" in messages[0].lower()
    assert monitor.poll(target.bmc, target.system_id, report.sel_cursor).sel == ()


# pushed events --------------------------------------------------------------------------
class Receiver(ThreadingHTTPServer):
    """The manager's event listener, as a plain HTTP server that keeps what it gets."""

    def __init__(self) -> None:
        self.bodies: queue.Queue[dict[str, Any]] = queue.Queue()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/events"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.server.bodies.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as server:
        yield server


def _received(
    monitor: MonitorDriver, bmc: Bmc, receiver: Receiver, message: str
) -> list[PushedEvent]:
    """Parsed bodies until one carries ``message`` in a MessageId."""
    while True:
        events = monitor.parse_event(bmc, receiver.bodies.get(timeout=10))
        if any(message in e.message_id for e in events):
            return events


def test_a_subscription_receives_a_pushed_fault_that_parses_to_its_system_and_part(
    monitor: MonitorDriver, target: Target, receiver: Receiver
) -> None:
    uri = monitor.subscribe(target.bmc, receiver.url, "kanri-contract")
    try:
        assert (uri, receiver.url, "kanri-contract") in monitor.subscriptions(target.bmc)
        target.fail_dimm("DIMM2")
        events = _received(monitor, target.bmc, receiver, CRITICAL_CHANGE)
        (event,) = [e for e in events if CRITICAL_CHANGE in e.message_id]
        assert (event.system_id, event.component, event.severity) == (
            target.system_id,
            "DIMM2",
            Health.CRITICAL,
        )
        assert event.event_id
    finally:
        monitor.unsubscribe(target.bmc, uri)
    assert all(found[0] != uri for found in monitor.subscriptions(target.bmc))
    monitor.unsubscribe(target.bmc, uri)  # gone already: fine


class Reader:
    """A stream read on a thread of its own, as the monitor reads it."""

    def __init__(self, monitor: MonitorDriver, bmc: Bmc, last_event_id: str | None) -> None:
        self.stop = threading.Event()
        self.events: list[PushedEvent] = []
        stream = monitor.stream(bmc, last_event_id, self.stop)  # errors raise here
        self.thread = threading.Thread(target=lambda: self.events.extend(stream), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the stream did not end when told to"

    def parts(self) -> list[str]:
        return [e.component for e in list(self.events) if CRITICAL_CHANGE in e.message_id]


def _until_live(reader: Reader, emit: Callable[[], object]) -> None:
    """Emit harmless events until the reader sees one: the stream is listening."""
    for _ in range(50):
        emit()
        try:
            wait_for(lambda: bool(reader.events), timeout=0.2)
            return
        except AssertionError:
            continue
    raise AssertionError("the stream never carried an event")


def test_the_stream_resumes_after_the_last_event_id_without_repeats(
    monitor: MonitorDriver, target: Target
) -> None:
    reader = Reader(monitor, target.bmc, None)
    try:
        _until_live(reader, target.emit)
        target.fail_dimm("DIMM1")
        target.fail_dimm("DIMM4")
        wait_for(lambda: reader.parts() == ["DIMM1", "DIMM4"])
        last = reader.events[-1]
        assert last.system_id == target.system_id
        assert last.stream_id
    finally:
        reader.close()
    target.fail_dimm("DIMM5")  # while nobody reads
    again = Reader(monitor, target.bmc, last.stream_id)
    try:
        target.fail_dimm("DIMM6")
        wait_for(lambda: "DIMM6" in again.parts())
        assert again.parts() == ["DIMM5", "DIMM6"]
    finally:
        again.close()


# errors ---------------------------------------------------------------------------------
def test_wrong_credentials_are_refused(monitor: MonitorDriver, target: Target) -> None:
    with pytest.raises(BmcAuthFailed):
        monitor.poll(target.wrong_password, target.system_id, None)
    with pytest.raises(BmcAuthFailed):
        monitor.subscriptions(target.wrong_password)


def test_an_unreachable_bmc_is_unreachable(monitor: MonitorDriver, target: Target) -> None:
    with pytest.raises(BmcUnreachable):
        monitor.poll(target.unreachable, "1", None)
    with pytest.raises(BmcUnreachable):
        monitor.stream(target.unreachable, None, threading.Event())


def test_an_unknown_system_is_not_found(monitor: MonitorDriver, target: Target) -> None:
    with pytest.raises(SystemNotFound):
        monitor.poll(target.bmc, "no-such-system", None)


# sushy-tools: health only ---------------------------------------------------------------
def test_sushy_tools_polls_health_without_a_sel_and_has_no_event_service(
    drivers: Drivers, emulator_bmc: Bmc, sushy_emulator: SushyEmulator
) -> None:
    monitor = drivers.monitor("redfish")
    system_id = sushy_emulator.systems[0].uuid
    report = monitor.poll(emulator_bmc, system_id, None)
    assert report.rollup is Health.OK
    assert report.power in (PowerState.ON, PowerState.OFF)
    # its shared chassis' legacy Thermal: fans with health, temperatures with readings
    assert {c.kind for c in report.components} == {"fan"}
    assert any(s.units == "Cel" and s.reading is not None for s in report.sensors)
    assert (report.sel, report.sel_cursor) == ((), None)  # no LogServices at all
    with pytest.raises(BmcProtocolError, match="no EventService"):
        monitor.subscribe(emulator_bmc, "http://127.0.0.1:9/events", "kanri")
    with pytest.raises(BmcProtocolError, match="no EventService"):
        monitor.stream(emulator_bmc, None, threading.Event())


def test_the_fake_can_offer_no_stream(drivers: Drivers) -> None:
    url = f"fake://monitor-{next(_fake_names)}"
    monitor = drivers.monitor("fake")
    bmc = Bmc(url, "admin", "secret")
    monitor.poll(bmc, "1", None)
    monitor_world_of(drivers.context).service(url).sse = False
    with pytest.raises(BmcProtocolError, match="no SSE stream"):
        monitor.stream(bmc, None, threading.Event())
