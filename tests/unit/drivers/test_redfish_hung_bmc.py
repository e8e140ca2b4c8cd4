"""A BMC that accepts TCP connections and never answers costs a bounded number of attempts.

Peers on loopback: a socket that accepts and never answers, a small Redfish service that
can be told to hang, and one that trickles an answer a header line at a time (each line
within the read timeout, so the request itself never times out).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kanri.domain.errors import BmcError, Invalid
from kanri.domain.model import Bmc
from kanri.domain.states import PowerState
from kanri.drivers.base import BmcUnreachable, DriverOptions
from kanri.drivers.redfish import RedfishPower
from kanri.drivers.redfish.sessions import login_wait
from kanri.drivers.registry import DriverContext
from tests.peers.http import serving

OPTIONS = DriverOptions(connect_timeout=0.5, read_timeout=0.5, retries=2, retry_delay=0.01)


class BlackHole:
    """Accepts every connection, reads nothing, answers nothing; counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self.sock.close()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()


class Trickle(BlackHole):
    """Answers each connection with a status line, then one header line every ``gap``
    seconds for ``seconds``, then hangs up: a request that never times out."""

    def __init__(self, seconds: float, gap: float = 0.1) -> None:
        self.seconds, self.gap = seconds, gap
        super().__init__()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        end = time.monotonic() + self.seconds
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while time.monotonic() < end:
                conn.sendall(b"X-Slow: 1\r\n")
                time.sleep(self.gap)
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


SYSTEM = "/redfish/v1/Systems/s1"
DOCS: dict[str, dict[str, Any]] = {
    "/redfish/v1": {
        "@odata.id": "/redfish/v1",
        "Id": "RootService",
        "RedfishVersion": "1.6.0",
        "Systems": {"@odata.id": "/redfish/v1/Systems"},
    },
    "/redfish/v1/Systems": {"@odata.id": "/redfish/v1/Systems", "Members": [{"@odata.id": SYSTEM}]},
    SYSTEM: {"@odata.id": SYSTEM, "Id": "s1", "PowerState": "On"},
}


class HangingBmc(ThreadingHTTPServer):
    """Answers at once until ``hang`` is set; then takes requests and answers none."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hang = threading.Event()
        self.release = threading.Event()
        self.hung_requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: HangingBmc
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.server.hang.is_set():
            self.server.hung_requests.append(self.path)
            self.server.release.wait(10)
            return  # the client gave up long ago
        doc = DOCS.get(self.path.rstrip("/"))
        data = json.dumps(doc or {"error": {"message": "not found"}}).encode()
        self.send_response(200 if doc else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._closing()
        self.wfile.write(data)

    def do_POST(self) -> None:  # no SessionService: sushy falls back to basic auth
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self._closing()

    def _closing(self) -> None:
        # sushy asks for "Connection: close"; say so, as a BMC does, so the client never
        # reuses a connection this server has closed.
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    peer = BlackHole()
    yield peer
    peer.close()


@pytest.fixture
def hanging() -> Iterator[HangingBmc]:
    with serving(HangingBmc()) as server:
        try:
            yield server
        finally:
            server.release.set()  # let hung handlers end before the server closes


@pytest.fixture
def power() -> Iterator[RedfishPower]:
    driver = RedfishPower(DriverContext(OPTIONS))
    yield driver
    driver.close()


def test_a_hung_bmc_costs_the_configured_attempts_and_says_so(
    power: RedfishPower, black_hole: BlackHole
) -> None:
    start = time.monotonic()
    with pytest.raises(BmcUnreachable, match=r"no answer in 2 attempts of 0\.5s$"):
        power.get_power(Bmc(black_hole.url, "admin", "pw"), "s1")
    assert len(black_hole.accepted) == 2
    assert time.monotonic() - start < 2.5


def test_a_timeout_does_not_log_in_again(power: RedfishPower, hanging: HangingBmc) -> None:
    """A reused client that times out is kept and the work not tried again: before, the
    pool logged in once more (the service root, 2 more attempts) after every timeout."""
    bmc = Bmc(hanging.url, "admin", "pw")
    assert power.get_power(bmc, "s1") is PowerState.ON
    client = power.sessions.client_of(bmc)

    hanging.hang.set()
    with pytest.raises(BmcUnreachable) as caught:
        power.get_power(bmc, "s1")
    assert hanging.hung_requests == [SYSTEM, SYSTEM]  # not the service root twice more
    assert str(caught.value).endswith("no answer in 2 attempts of 0.5s")

    hanging.hang.clear()  # it answers again: the same session goes on
    assert power.get_power(bmc, "s1") is PowerState.ON
    assert power.sessions.client_of(bmc) is client


def test_callers_share_one_login_to_a_hung_bmc(power: RedfishPower, black_hole: BlackHole) -> None:
    """Four callers at once: one login is tried and all four get its outcome, instead of
    queueing behind a lock held across the login and then each trying again."""
    bmc = Bmc(black_hole.url, "admin", "pw")
    errors: list[Exception] = []

    def call() -> None:
        try:
            power.get_power(bmc, "s1")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - start

    assert len(errors) == 4
    assert all(isinstance(e, BmcUnreachable) for e in errors)
    assert len(black_hole.accepted) == 2  # one login, two attempts of the service root
    assert elapsed < 2.5  # one login's timeouts (about 1 s), not four in a row


def test_waiting_for_another_login_is_bounded() -> None:
    """A login that outlasts every timeout (a BMC trickling its answer) holds up the
    others for at most ``login_wait``; they fail as busy and open no connection."""
    options = DriverOptions(connect_timeout=0.2, read_timeout=0.3, retries=1, retry_delay=0.01)
    bound = login_wait(options)
    peer = Trickle(seconds=bound + 1.2)
    driver = RedfishPower(DriverContext(options))
    bmc = Bmc(peer.url, "admin", "pw")

    def log_in() -> None:
        with contextlib.suppress(BmcError):  # the trickle ends by hanging up mid-answer
            driver.get_power(bmc, "s1")

    first = threading.Thread(target=log_in)
    try:
        first.start()
        time.sleep(0.2)  # the first caller is logging in
        start = time.monotonic()
        with pytest.raises(BmcUnreachable, match="busy logging in"):
            driver.get_power(bmc, "s1")
        waited = time.monotonic() - start
        assert bound - 0.5 < waited < bound + 1.0
        assert len(peer.accepted) == 1
    finally:
        first.join(timeout=30)
        driver.close()
        peer.close()


@pytest.mark.parametrize(
    ("username", "password"), [("admin", "パスワード"), ("管理者", "pw"), ("admin", "pw😀")]
)
def test_credentials_basic_auth_cannot_carry_are_invalid_before_any_io(
    power: RedfishPower, black_hole: BlackHole, username: str, password: str
) -> None:
    with pytest.raises(Invalid, match="must be Latin-1 text for HTTP basic auth"):
        power.get_power(Bmc(black_hole.url, username, password), "s1")
    assert power.sessions._slots == {}
    assert black_hole.accepted == []


def test_latin1_credentials_are_sent(power: RedfishPower, hanging: HangingBmc) -> None:
    assert power.get_power(Bmc(hanging.url, "administrateur", "mötley-crüe"), "s1") is (
        PowerState.ON
    )
