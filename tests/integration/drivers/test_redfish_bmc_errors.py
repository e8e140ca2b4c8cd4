"""A BMC that errors on a system document: the sushy-tools emulator behind a loopback proxy
that answers one system's URL with an HTTP error of the test's choosing.

Only 404/410 mean "this system is gone". Any other error on a system document fails the
whole discovery (nothing is registered) and a power read, instead of turning into "no such
system" or a chassis with a blade missing.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from kanri.domain.model import Bmc
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.redfish import RedfishInventory, RedfishPower
from kanri.drivers.registry import DriverContext
from kanri.lab.sushy_emulator import SushyEmulator
from tests.integration.conftest import TEST_OPTIONS
from tests.peers.http import serving

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class ErrorProxy(ThreadingHTTPServer):
    """Forwards to ``target``, except that a GET of exactly ``fail_path`` gets ``status``."""

    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.fail_path = ""
        self.status = 500
        self.failed = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: ErrorProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        # sushy asks for "Connection: close" on every request; say it is done, as a BMC
        # does. Without it the client pools a connection this server then closes, and its
        # next request (a POST it must not resend) fails on the dead connection.
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "GET" and self.path.rstrip("/") == self.server.fail_path:
            self.server.failed += 1
            error = {"error": {"code": "Base.1.0.GeneralError", "message": "internal"}}
            data = json.dumps(error).encode()
            self._reply(self.server.status, [("Content-Type", "application/json")], data)
            return
        upstream = http.client.HTTPConnection(*self.server.target, timeout=10)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            self._reply(answer.status, answer.getheaders(), answer.read())
        finally:
            upstream.close()

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()


@pytest.fixture
def proxy(sushy_emulator: SushyEmulator) -> Iterator[ErrorProxy]:
    with serving(ErrorProxy(sushy_emulator.url)) as server:
        yield server


@pytest.fixture
def context() -> Iterator[DriverContext]:
    context = DriverContext(TEST_OPTIONS)
    yield context
    context.close()


def _behind(proxy: ErrorProxy, emulator_bmc: Bmc) -> Bmc:
    return Bmc(proxy.url, emulator_bmc.username, emulator_bmc.password)


def test_a_system_answering_500_fails_the_whole_discovery(
    context: DriverContext, proxy: ErrorProxy, emulator_bmc: Bmc, sushy_emulator: SushyEmulator
) -> None:
    bad = sushy_emulator.systems[0].uuid
    proxy.fail_path = f"/redfish/v1/Systems/{bad}"
    with pytest.raises(BmcProtocolError, match=r"HTTP 500: internal$"):
        RedfishInventory(context).discover(_behind(proxy, emulator_bmc))
    assert proxy.failed >= 1


def test_a_system_answering_500_is_a_bmc_error_not_a_missing_system(
    context: DriverContext, proxy: ErrorProxy, emulator_bmc: Bmc, sushy_emulator: SushyEmulator
) -> None:
    bad, good = sushy_emulator.systems[0].uuid, sushy_emulator.systems[1].uuid
    proxy.fail_path = f"/redfish/v1/Systems/{bad}"
    bmc = _behind(proxy, emulator_bmc)
    power, inventory = RedfishPower(context), RedfishInventory(context)

    with pytest.raises(BmcProtocolError, match=r"HTTP 500: internal$"):
        power.get_power(bmc, bad)
    with pytest.raises(BmcProtocolError, match=r"HTTP 500: internal$"):
        inventory.inventory(bmc, bad)
    power.get_power(bmc, good)  # the others still answer


def test_a_listed_system_that_answers_404_is_skipped(
    context: DriverContext, proxy: ErrorProxy, emulator_bmc: Bmc, sushy_emulator: SushyEmulator
) -> None:
    """404 (and 410) keep meaning "deleted since it was listed"."""
    gone = sushy_emulator.systems[0].uuid
    proxy.fail_path, proxy.status = f"/redfish/v1/Systems/{gone}", 404
    found = RedfishInventory(context).discover(_behind(proxy, emulator_bmc))
    assert {s.system_id for s in found} == {s.uuid for s in sushy_emulator.systems[1:]}
