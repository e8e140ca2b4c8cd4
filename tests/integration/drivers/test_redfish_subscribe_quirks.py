"""Subscribing on a BMC from before Redfish 1.5, which requires EventTypes, and on one
that fails the POST: a refused POST is asked again with EventTypes, a failed one never.

The BMC is a small HTTP server of the test's own (no emulator refuses like this).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kanri.domain.model import Bmc
from kanri.drivers.base import BmcProtocolError
from kanri.drivers.registry import Drivers
from tests.integration.conftest import TEST_OPTIONS
from tests.peers.http import serving

SUBS = "/redfish/v1/EventService/Subscriptions"
DOCS: dict[str, dict[str, Any]] = {
    "/redfish/v1": {"@odata.id": "/redfish/v1/", "Id": "Old", "RedfishVersion": "1.2.0",
                    "EventService": {"@odata.id": "/redfish/v1/EventService"}},
    "/redfish/v1/EventService": {
        "@odata.id": "/redfish/v1/EventService",
        "ServiceEnabled": True,
        "EventTypesForSubscription": ["StatusChange", "ResourceAdded", "Alert"],
        "Subscriptions": {"@odata.id": SUBS},
    },
}  # fmt: skip


class OldBmc(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.posts: list[dict[str, Any]] = []
        self.post_status = 0  # 0: behave; else answer every POST with it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: OldBmc
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any], **headers: str) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        doc = DOCS.get(self.path.rstrip("/"))
        if doc is None:
            self._reply(404, {"error": {"code": "Base.1.0.ResourceMissingAtURI"}})
        else:
            self._reply(200, doc)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.rstrip("/") != SUBS:  # no sessions here: sushy falls back to Basic
            self._reply(404, {"error": {"code": "Base.1.0.ResourceMissingAtURI"}})
            return
        self.server.posts.append(body)
        if self.server.post_status:
            self._reply(self.server.post_status, {"error": {"message": "internal error"}})
        elif "EventTypes" not in body:
            error = {
                "code": "Base.1.0.GeneralError",
                "message": "missing",
                "@Message.ExtendedInfo": [
                    {"MessageId": "Base.1.0.PropertyMissing", "MessageArgs": ["EventTypes"]}
                ],
            }
            self._reply(400, {"error": error})
        else:
            self._reply(201, {"@odata.id": f"{SUBS}/7"}, Location=f"{self.server.url}{SUBS}/7")


@pytest.fixture
def old_bmc() -> Iterator[OldBmc]:
    with serving(OldBmc()) as server:
        yield server


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers(TEST_OPTIONS)
    yield drivers
    drivers.close()


def test_a_bmc_that_wants_event_types_is_asked_once_more_with_them(
    old_bmc: OldBmc, drivers: Drivers
) -> None:
    uri = drivers.monitor("redfish").subscribe(
        Bmc(old_bmc.url, "admin", "pw"), "http://127.0.0.1:9/events", "kanri-1"
    )
    assert uri == f"{SUBS}/7"  # the absolute Location, cut to its path
    first, second = old_bmc.posts
    assert "EventTypes" not in first
    assert second == {
        "Destination": "http://127.0.0.1:9/events",
        "Protocol": "Redfish",
        "Context": "kanri-1",
        "EventTypes": ["Alert", "StatusChange"],
    }


def test_a_subscription_post_that_fails_is_not_sent_again(
    old_bmc: OldBmc, drivers: Drivers
) -> None:
    old_bmc.post_status = 500
    with pytest.raises(BmcProtocolError, match="HTTP 500"):
        drivers.monitor("redfish").subscribe(
            Bmc(old_bmc.url, "admin", "pw"), "http://127.0.0.1:9/events", "kanri-1"
        )
    assert len(old_bmc.posts) == 1
