"""A power command whose answer is lost is never sent again (guide rule 3).

A small Redfish service on loopback answers GETs at once and the reset POST only after the
driver's read timeout. sushy on its own would send the POST again; kanri's driver must not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kanri.domain.errors import BmcError
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.base import DriverOptions
from kanri.drivers.redfish import RedfishPower
from kanri.drivers.registry import DriverContext
from tests.peers.http import serving

SYSTEM = "/redfish/v1/Systems/s1"
DOCS: dict[str, dict[str, Any]] = {
    "/redfish/v1": {
        "@odata.id": "/redfish/v1",
        "Id": "RootService",
        "Name": "Root",
        "RedfishVersion": "1.6.0",
        "Systems": {"@odata.id": "/redfish/v1/Systems"},
    },
    "/redfish/v1/Systems": {
        "@odata.id": "/redfish/v1/Systems",
        "Name": "Systems",
        "Members": [{"@odata.id": SYSTEM}],
        "Members@odata.count": 1,
    },
    SYSTEM: {
        "@odata.id": SYSTEM,
        "Id": "s1",
        "Name": "slow",
        "PowerState": "On",
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": f"{SYSTEM}/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "ForceRestart"],
            }
        },
    },
}


class SlowBmc(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, post_delay: float, get_delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.post_delay = post_delay
        self.get_delay = get_delay
        self.posts: list[str] = []
        self.gets: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: SlowBmc

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting
            pass

    def do_GET(self) -> None:
        path = self.path.rstrip("/")
        self.server.gets.append(path)
        if path == SYSTEM:
            time.sleep(self.server.get_delay)
        doc = DOCS.get(path)
        self._send(200 if doc else 404, doc or {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.path.endswith("ComputerSystem.Reset"):  # no SessionService: basic auth
            self._send(404, {"error": {"message": "not found"}})
            return
        self.server.posts.append(self.path)
        time.sleep(self.server.post_delay)
        self._send(204)


@pytest.fixture
def slow_post() -> Iterator[SlowBmc]:
    with serving(SlowBmc(post_delay=1.5)) as server:
        yield server


@pytest.fixture
def slow_get() -> Iterator[SlowBmc]:
    with serving(SlowBmc(post_delay=0.0, get_delay=1.5)) as server:
        yield server


OPTIONS = DriverOptions(connect_timeout=1.0, read_timeout=0.5, retries=3, retry_delay=0.01)


def _driver() -> RedfishPower:
    return RedfishPower(DriverContext(OPTIONS))


def _bmc(server: SlowBmc) -> Bmc:
    return Bmc(f"http://127.0.0.1:{server.server_address[1]}", "admin", "pw")


def test_a_reset_whose_answer_is_lost_is_sent_once(slow_post: SlowBmc) -> None:
    driver = _driver()
    try:
        with pytest.raises(BmcError, match="not repeated"):
            driver.set_power(_bmc(slow_post), "s1", PowerAction.RESET)
        time.sleep(2 * slow_post.post_delay)  # anything sushy would resend has arrived by now
        assert slow_post.posts == [f"{SYSTEM}/Actions/ComputerSystem.Reset"]
    finally:
        driver.close()


def test_a_slow_read_is_still_retried(slow_get: SlowBmc) -> None:
    """The other side of the rule: a GET changes nothing, so it may be repeated."""
    driver = _driver()
    try:
        bmc = _bmc(slow_get)
        with pytest.raises(BmcError):
            driver.get_power(bmc, "s1")
        assert slow_get.gets.count(SYSTEM) >= 2
        slow_get.get_delay = 0.0
        assert driver.get_power(bmc, "s1") is PowerState.ON
    finally:
        driver.close()
