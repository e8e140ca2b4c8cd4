"""The Swordfish driver against a plain Swordfish service of the tests' own, shaped
unlike the lab: no ``$expand``, no Oem initiator lists, no sessions (basic auth), a POST
that answers too late, a host group that changes between read and write."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kanri.domain.errors import BmcError, Invalid, NotFound
from kanri.domain.storage import StorageArray
from kanri.drivers.base import BmcProtocolError, DriverOptions
from kanri.drivers.registry import DriverContext
from kanri.drivers.storage import SwordfishStorage
from tests.peers.http import serving

ROOT = "/redfish/v1"
VOLUMES = f"{ROOT}/Storage/A1/Volumes"
CONNECTIONS = f"{ROOT}/Fabrics/FC1/Connections"
ENDPOINT = f"{ROOT}/Fabrics/FC1/Endpoints/I1"
WWPN = "50:06:0b:00:00:c2:62:01"


def _docs() -> dict[str, dict[str, Any]]:
    return {
        ROOT: {
            "@odata.id": ROOT,
            "Id": "RootService",
            "Name": "Root",
            "RedfishVersion": "1.15.0",
            "Storage": {"@odata.id": f"{ROOT}/Storage"},
            "Fabrics": {"@odata.id": f"{ROOT}/Fabrics"},
        },
        f"{ROOT}/Storage": {"Members": [{"@odata.id": f"{ROOT}/Storage/A1"}]},
        f"{ROOT}/Storage/A1": {"Id": "A1", "Volumes": {"@odata.id": VOLUMES}},
        f"{ROOT}/Fabrics": {"Members": [{"@odata.id": f"{ROOT}/Fabrics/FC1"}]},
        f"{ROOT}/Fabrics/FC1": {"Id": "FC1", "Connections": {"@odata.id": CONNECTIONS}},
        VOLUMES: {"Members": [{"@odata.id": f"{VOLUMES}/lun-a"}]},
        f"{VOLUMES}/lun-a": {
            "Id": "lun-a",
            "Name": "boot a",
            "CapacityBytes": 1024,
            "Identifiers": [{"DurableName": "600a0b80", "DurableNameFormat": "NAA"}],
        },
        CONNECTIONS: {"Members": [{"@odata.id": f"{CONNECTIONS}/hg1"}]},
        f"{CONNECTIONS}/hg1": {
            "Id": "hg1",
            "Name": "host 1",
            "VolumeInfo": [{"Volume": {"@odata.id": f"{VOLUMES}/lun-a"}, "LUN": 0}],
            "Links": {"InitiatorEndpoints": [{"@odata.id": ENDPOINT}]},
        },
        ENDPOINT: {
            "Id": "I1",
            "Identifiers": [{"DurableName": WWPN.upper(), "DurableNameFormat": "FC_WWN"}],
        },
    }


class PlainArray(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.docs = _docs()
        self.post_delay = 0.0
        self.posts_answered = 0
        self.stale_patches = 0  # answer this many PATCHes with 412 (someone else changed it)
        self.requests: list[tuple[str, str]] = []
        self.patches: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: PlainArray

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", '"v1"')
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting
            pass

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data: dict[str, Any] = json.loads(raw or b"{}")
        return data

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        if "$expand" in self.path:
            self._send(501, {"error": {"message": "$expand is not supported"}})
            return
        doc = self.server.docs.get(self.path.rstrip("/"))
        self._send(200 if doc else 404, doc or {"error": {"message": f"no {self.path}"}})

    def do_POST(self) -> None:
        body = self._body()
        self.server.requests.append(("POST", self.path))
        time.sleep(self.server.post_delay)
        self._send(201, {"Id": body.get("Id"), "CapacityBytes": body.get("CapacityBytes")})
        self.server.posts_answered += 1

    def do_PATCH(self) -> None:
        body = self._body()
        self.server.requests.append(("PATCH", self.path))
        if self.server.stale_patches:
            self.server.stale_patches -= 1
            self._send(412, {"error": {"message": "changed since read"}})
            return
        self.server.patches.append({"If-Match": self.headers.get("If-Match"), **body})
        self._send(200, self.server.docs.get(self.path))


@pytest.fixture
def server() -> Iterator[PlainArray]:
    with serving(PlainArray()) as running:
        yield running


@pytest.fixture
def driver() -> Iterator[SwordfishStorage]:
    options = DriverOptions(connect_timeout=1.0, read_timeout=0.5, retries=2, retry_delay=0.01)
    made = SwordfishStorage(DriverContext(options))
    yield made
    made.close()


def _array(server: PlainArray) -> StorageArray:
    return StorageArray(server.url, "admin", "pw")


def test_reads_without_expand_and_initiators_from_endpoints(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    (volume,) = driver.volumes(_array(server))
    assert (volume.id, volume.name, volume.capacity_bytes) == ("lun-a", "boot a", 1024)
    assert volume.durable_name == "600a0b80"
    (group,) = driver.host_groups(_array(server))
    assert group.initiators == {WWPN}  # normalized from the endpoint's durable name
    assert group.luns == {0: "lun-a"}


def test_a_service_without_storage_is_no_array(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    del server.docs[ROOT]["Storage"]
    with pytest.raises(BmcProtocolError, match="not a storage array"):
        driver.check(_array(server))


def test_a_map_retries_when_the_group_changed_between_read_and_write(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    server.stale_patches = 1
    driver.map_volume(_array(server), "hg1", "lun-b", 5)
    (patch,) = server.patches
    assert patch["If-Match"] == '"v1"'
    luns = {e["LUN"]: e["Volume"]["@odata.id"] for e in patch["VolumeInfo"]}
    assert luns == {0: f"{VOLUMES}/lun-a", 5: f"{VOLUMES}/lun-b"}  # kept what was there
    assert [m for m, _ in server.requests].count("PATCH") == 2


def test_a_map_that_is_there_already_writes_nothing(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    driver.map_volume(_array(server), "hg1", "lun-a", 0)
    driver.unmap_volume(_array(server), "hg1", "lun-other")
    assert server.patches == []


def test_a_missing_host_group_is_not_found(driver: SwordfishStorage, server: PlainArray) -> None:
    with pytest.raises(NotFound, match="no /redfish/v1/Fabrics/FC1/Connections/nope"):
        driver.map_volume(_array(server), "nope", "lun-a", 1)


def test_a_create_whose_answer_is_lost_is_sent_once(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    driver.check(_array(server))  # logged in and laid out: only the POST is left
    server.post_delay = 1.0  # twice the read timeout
    server.posts_answered = 0
    with pytest.raises(BmcError, match="not repeated"):
        driver.create_volume(_array(server), "lun-b", 2048)
    # A resend would follow the timeout at once, before the late answer goes out.
    deadline = time.monotonic() + 10
    while server.posts_answered < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert server.requests.count(("POST", VOLUMES)) == 1


def test_an_initiator_kanri_cannot_read_is_the_arrays_malformed_answer(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    server.docs[ENDPOINT]["Identifiers"] = [{"DurableName": "nqn.2014-08.org.nvmexpress:x"}]
    with pytest.raises(BmcProtocolError, match=r"malformed answer: .*invalid initiator"):
        driver.host_groups(_array(server))


def test_a_url_that_is_no_redfish_service_is_the_arrays_error_not_not_found(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    """A 404 for the service root (the URL of some other web service) is no refusal of
    something the caller named: 'storage add' must fail as 'not a storage array' (502),
    not as 'no such storage system' (404)."""
    del server.docs[ROOT]
    with pytest.raises(BmcProtocolError, match="HTTP 404"):
        driver.check(_array(server))
    with pytest.raises(BmcProtocolError, match="HTTP 404"):
        driver.create_volume(_array(server), "lun-b", 2048)
    assert ("POST", VOLUMES) not in server.requests


def test_a_collection_the_array_links_but_lacks_is_the_arrays_error(
    driver: SwordfishStorage, server: PlainArray
) -> None:
    del server.docs[VOLUMES]
    with pytest.raises(BmcProtocolError, match="HTTP 404"):
        driver.volumes(_array(server))


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (StorageArray("ftp://array.example", "admin", "pw"), "invalid array URL"),
        (StorageArray("http://127.0.0.1:1", "admin", "p\u20ac"), "the array password"),
    ],
)
def test_what_cannot_be_sent_is_invalid_in_the_arrays_words(
    driver: SwordfishStorage, array: StorageArray, words: str
) -> None:
    with pytest.raises(Invalid, match=words) as caught:
        driver.check(array)
    assert "BMC" not in str(caught.value)
