"""What the Redfish power driver reads before a reset, and when it reads it again.

A small Redfish service on loopback logs every request. Its system links a
``ResetActionInfo`` (as kanri's lab and many real BMCs do) unless a test annotates the
allowed values on the action itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kanri.domain.errors import BmcProtocolError
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.base import DriverOptions
from kanri.drivers.redfish import RedfishPower
from kanri.drivers.redfish.actions import (
    ResetActions,
    reset_action_of,
    reset_types_of_info,
)
from kanri.drivers.redfish.common import RESET_ACTIONS_KEY
from kanri.drivers.redfish.mapping import MalformedAnswer
from kanri.drivers.registry import DriverContext
from tests.peers.http import serving

SYSTEM = "/redfish/v1/Systems/s1"
INFO = f"{SYSTEM}/ResetActionInfo"
TARGET = f"{SYSTEM}/Actions/ComputerSystem.Reset"
READ_SYSTEM, READ_INFO = f"GET {SYSTEM}", f"GET {INFO}"


def _docs() -> dict[str, dict[str, Any]]:
    return {
        "/redfish/v1": {
            "@odata.id": "/redfish/v1",
            "Id": "RootService",
            "Name": "Root",
            "RedfishVersion": "1.6.0",
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
        },
        "/redfish/v1/Systems": {
            "@odata.id": "/redfish/v1/Systems",
            "Members": [{"@odata.id": SYSTEM}],
        },
        SYSTEM: {
            "@odata.id": SYSTEM,
            "Id": "s1",
            "PowerState": "Off",
            "Actions": {"#ComputerSystem.Reset": {"target": TARGET, "@Redfish.ActionInfo": INFO}},
        },
        INFO: {
            "@odata.id": INFO,
            "Parameters": [{"Name": "ResetType", "AllowableValues": ["On", "ForceOff"]}],
        },
    }


class LoggingBmc(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.docs = _docs()
        self.log: list[str] = []  # "GET /path", "POST /path ResetType"
        self.post_status = 204

    def since(self, mark: int) -> list[str]:
        return self.log[mark:]


class _Handler(BaseHTTPRequestHandler):
    server: LoggingBmc

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.rstrip("/")
        if path not in ("/redfish/v1", "/redfish/v1/SessionService"):
            self.server.log.append(f"GET {path}")
        doc = self.server.docs.get(path)
        self._send(200 if doc else 404, doc or {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path != TARGET:  # no SessionService: basic auth
            self._send(404, {"error": {"message": "not found"}})
            return
        self.server.log.append(f"POST {self.path} {body.get('ResetType')}")
        status = self.server.post_status
        self._send(status, None if status == 204 else {"error": {"message": "refused"}})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def _server() -> Iterator[LoggingBmc]:
    with serving(LoggingBmc()) as server:  # one for the module: its shutdown takes 0.5 s
        yield server


@pytest.fixture
def bmc_server(_server: LoggingBmc) -> LoggingBmc:
    _server.docs, _server.log, _server.post_status = _docs(), [], 204
    return _server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def driver(clock: Clock) -> Iterator[RedfishPower]:
    context = DriverContext(DriverOptions(connect_timeout=1.0, read_timeout=2.0, retries=1))
    context.shared(RESET_ACTIONS_KEY, lambda: ResetActions(fresh_for=30.0, clock=clock))
    power = RedfishPower(context)
    yield power
    power.close()


def _bmc(server: LoggingBmc) -> Bmc:
    return Bmc(f"http://127.0.0.1:{server.server_address[1]}", "admin", "pw")


def _step(driver: RedfishPower, bmc: Bmc, action: PowerAction) -> None:
    """What a power step does: read the state back, then send."""
    driver.get_power(bmc, "s1")
    driver.set_power(bmc, "s1", action)


def test_a_command_after_a_read_sends_only_the_post_and_reads_actioninfo_once(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    bmc = _bmc(bmc_server)
    _step(driver, bmc, PowerAction.ON)
    assert bmc_server.log == [READ_SYSTEM, READ_INFO, f"POST {TARGET} On"]
    mark = len(bmc_server.log)
    _step(driver, bmc, PowerAction.FORCE_OFF)
    _step(driver, bmc, PowerAction.ON)
    assert bmc_server.since(mark) == [
        READ_SYSTEM,
        f"POST {TARGET} ForceOff",
        READ_SYSTEM,
        f"POST {TARGET} On",
    ]


def test_a_command_long_after_the_last_read_reads_the_system_again(
    driver: RedfishPower, bmc_server: LoggingBmc, clock: Clock
) -> None:
    bmc = _bmc(bmc_server)
    _step(driver, bmc, PowerAction.ON)
    mark = len(bmc_server.log)
    clock.now += 29.0
    driver.set_power(bmc, "s1", PowerAction.FORCE_OFF)  # within 30 s of the read: no GET
    clock.now += 31.0
    driver.set_power(bmc, "s1", PowerAction.ON)  # the document is old: read it again
    assert bmc_server.since(mark) == [
        f"POST {TARGET} ForceOff",
        READ_SYSTEM,
        f"POST {TARGET} On",
    ]


def test_an_error_forgets_the_action_and_its_actioninfo(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    bmc = _bmc(bmc_server)
    _step(driver, bmc, PowerAction.ON)
    bmc_server.post_status = 400
    with pytest.raises(BmcProtocolError, match="HTTP 400"):
        driver.set_power(bmc, "s1", PowerAction.FORCE_OFF)
    bmc_server.post_status = 204
    mark = len(bmc_server.log)
    driver.set_power(bmc, "s1", PowerAction.FORCE_OFF)
    assert bmc_server.since(mark) == [READ_SYSTEM, READ_INFO, f"POST {TARGET} ForceOff"]


def test_actioninfo_decides_the_reset_type_and_a_refusal_sends_nothing(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    bmc_server.docs[INFO]["Parameters"][0]["AllowableValues"] = ["ForceOn", "ForceOff"]
    bmc = _bmc(bmc_server)
    _step(driver, bmc, PowerAction.ON)
    assert bmc_server.log[-1] == f"POST {TARGET} ForceOn"
    with pytest.raises(BmcProtocolError, match="cannot off: the BMC allows only ForceOff, ForceOn"):
        driver.set_power(bmc, "s1", PowerAction.OFF)
    assert sum(r.startswith("POST") for r in bmc_server.log) == 1


def test_an_unreadable_actioninfo_allows_all_and_is_read_again_next_time(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    del bmc_server.docs[INFO]  # 404
    bmc = _bmc(bmc_server)
    _step(driver, bmc, PowerAction.ON)
    _step(driver, bmc, PowerAction.ON)
    assert bmc_server.log == [READ_SYSTEM, READ_INFO, f"POST {TARGET} On"] * 2


def test_values_on_the_action_itself_need_no_actioninfo(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    reset = bmc_server.docs[SYSTEM]["Actions"]["#ComputerSystem.Reset"]
    reset["ResetType@Redfish.AllowableValues"] = ["On", "ForceOff"]
    bmc = _bmc(bmc_server)
    _step(driver, bmc, PowerAction.ON)
    assert bmc_server.log == [READ_SYSTEM, f"POST {TARGET} On"]


def test_a_command_without_a_read_reads_the_system_once(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    driver.set_power(_bmc(bmc_server), "s1", PowerAction.ON)
    assert bmc_server.log == [READ_SYSTEM, READ_INFO, f"POST {TARGET} On"]


def test_a_system_without_a_reset_action_is_a_clear_error(
    driver: RedfishPower, bmc_server: LoggingBmc
) -> None:
    del bmc_server.docs[SYSTEM]["Actions"]
    bmc = _bmc(bmc_server)
    assert driver.get_power(bmc, "s1") is PowerState.OFF  # a read does not need the action
    with pytest.raises(BmcProtocolError, match=r"offers no ComputerSystem\.Reset action"):
        driver.set_power(bmc, "s1", PowerAction.ON)
    assert not any(r.startswith("POST") for r in bmc_server.log)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ({"#ComputerSystem.Reset": {"target": "/t"}}, ("/t", (), None)),
        (
            {
                "#ComputerSystem.Reset": {
                    "target": "/t",
                    "ResetType@Redfish.AllowableValues": ["On", 3],
                }
            },
            ("/t", ("On",), None),
        ),
        (
            {"#ComputerSystem.Reset": {"target": "/t", "@Redfish.ActionInfo": "/i"}},
            ("/t", (), "/i"),
        ),
    ],
)
def test_reset_action_of(actions: dict[str, Any], expected: tuple[Any, ...]) -> None:
    reset = reset_action_of(actions)
    assert (reset.target, reset.allowed, reset.info) == expected


def test_reset_action_without_a_target_is_malformed() -> None:
    with pytest.raises(MalformedAnswer, match="no target"):
        reset_action_of({"#ComputerSystem.Reset": {}}, SYSTEM)


def test_reset_types_of_info() -> None:
    assert reset_types_of_info({"Parameters": [{"Name": "Other", "AllowableValues": ["X"]}]}) == ()
    assert reset_types_of_info({"Parameters": "bad"}) == ()
    doc = {"Parameters": [{"Name": "ResetType", "AllowableValues": ["On", "ForceOff"]}]}
    assert reset_types_of_info(doc) == ("On", "ForceOff")
