"""The lab's EventService over HTTP: subscriptions receive Redfish Events by POST, the SSE
stream carries them too, and faults (dropped events, a dead listener) show in history."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from tests.integration.lab.conftest import ServeLab
from tests.peers.http import serving

AUTH = ("admin", "password")
LAB = {
    "machines": [{"id": "b1"}, {"id": "b2", "power": "On"}],
    "volumes": [{"id": "v1", "size_gib": 1}],
    "host_groups": [{"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}}],
}
SUBSCRIPTIONS = "/redfish/v1/EventService/Subscriptions"
TEST_EVENT = "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent"


class Listener(ThreadingHTTPServer):
    """An event listener that keeps what it is sent, and answers ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.received: queue.Queue[tuple[dict[str, str], dict[str, Any]]] = queue.Queue()
        self.status = status
        self.calls = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/events"

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.received.get(timeout=timeout)[1]

    def record(self, message_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next event record with ``message_id`` (others are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.next(max(0.01, deadline - time.monotonic()))
            for record in body["Events"]:
                if record["MessageId"] == message_id:
                    return body
            assert time.monotonic() < deadline, f"no {message_id} received"


class _Handler(BaseHTTPRequestHandler):
    server: Listener

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.calls += 1
        if self.server.status < 300:
            self.server.received.put((dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    with serving(Listener()) as server:
        yield server


def http(server: LabServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=AUTH, timeout=10)


def test_a_subscriber_receives_power_events_as_redfish_events(
    serve_lab: ServeLab, listener: Listener
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        made = client.post(
            SUBSCRIPTIONS,
            json={
                "Destination": listener.url,
                "Protocol": "Redfish",
                "Context": "kanri-7",
                "HttpHeaders": [{"X-Kanri-Token": "s3cret"}],
            },
        )
        assert made.status_code == 201, made.text
        sub = made.json()
        assert made.headers["Location"] == sub["@odata.id"] == f"{SUBSCRIPTIONS}/{sub['Id']}"
        assert (sub["Context"], sub["Protocol"], sub["SubscriptionType"]) == (
            "kanri-7",
            "Redfish",
            "RedfishEvent",
        )
        assert "HttpHeaders" not in sub  # write-only: it may hold a secret
        members = client.get(SUBSCRIPTIONS).json()["Members"]
        assert members == [{"@odata.id": sub["@odata.id"]}]
        assert client.post(
            "/redfish/v1/Systems/b1/Actions/ComputerSystem.Reset", json={"ResetType": "On"}
        ).is_success
        headers, body = listener.received.get(timeout=10)
    assert headers["X-Kanri-Token"] == "s3cret"
    assert body["@odata.type"].startswith("#Event.v1_")
    assert body["Context"] == "kanri-7"
    (record,) = body["Events"]
    assert record["MessageId"] == "ResourceEvent.1.4.ResourcePoweredOn"
    assert record["EventType"] == "StatusChange"
    assert record["OriginOfCondition"] == {"@odata.id": "/redfish/v1/Systems/b1"}
    assert record["MessageArgs"] == ["b1"]
    assert record["EventId"].isdigit()
    assert record["EventTimestamp"]


def test_a_subscription_gets_only_the_registries_it_asked_for_and_stops_when_deleted(
    serve_lab: ServeLab, listener: Listener
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        sub = client.post(
            SUBSCRIPTIONS,
            json={"Destination": listener.url, "Protocol": "Redfish",
                  "RegistryPrefixes": ["KanriLab"]},
        ).json()  # fmt: skip
        client.post(TEST_EVENT, json={})  # ResourceEvent: not wanted
        client.post(TEST_EVENT, json={"MessageId": "KanriLab.1.0.Nmi", "Message": "wanted"})
        body = listener.next()
        assert body["Events"][0]["Message"] == "wanted"
        assert client.delete(sub["@odata.id"]).status_code == 204
        assert client.get(sub["@odata.id"]).status_code == 404
        client.post(TEST_EVENT, json={"MessageId": "KanriLab.1.0.Nmi", "Message": "late"})
        # The SSE-free way to know the event went round: the lab's history has it.
        records = client.get("/lab/v1/history", params={"kind": "event.test"}).json()
        assert len(records["records"]) == 3
    with pytest.raises(queue.Empty):
        listener.received.get(timeout=0.3)


@pytest.mark.parametrize(
    ("body", "message_id", "words"),
    [
        ({"Protocol": "Redfish"}, "PropertyMissing", "Destination is required"),
        ({"Destination": "ftp://x", "Protocol": "Redfish"}, "PropertyValueFormatError", "http"),
        ({"Destination": "http://u:pw@x/", "Protocol": "Redfish"}, "PropertyValueFormatError",
         "http"),
        ({"Destination": "http://x/", "Protocol": "SNMPv2c"}, "PropertyValueNotInList", "Protocol"),
        ({"Destination": "http://x/", "Protocol": "Redfish", "Colour": 1}, "PropertyUnknown",
         "Colour"),
        ({"Destination": "http://x/", "Protocol": "Redfish", "EventTypes": ["Weather"]},
         "PropertyValueNotInList", "Weather"),
    ],
)  # fmt: skip
def test_a_bad_subscription_is_a_redfish_400(
    serve_lab: ServeLab, body: dict[str, Any], message_id: str, words: str
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        answer = client.post(SUBSCRIPTIONS, json=body)
        assert answer.status_code == 400
        info = answer.json()["error"]["@Message.ExtendedInfo"][0]
        assert info["MessageId"] == f"Base.1.22.{message_id}"
        assert words in info["Message"]
        assert client.get(SUBSCRIPTIONS).json()["Members"] == []


def test_a_listener_that_keeps_failing_loses_the_event_after_retries(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with serving(Listener(status=500)) as failing, http(server) as client:
        client.post(SUBSCRIPTIONS, json={"Destination": failing.url, "Protocol": "Redfish"})
        client.post(TEST_EVENT, json={})
        deadline = time.monotonic() + 10
        while True:
            found = client.get("/lab/v1/history", params={"kind": "event.delivery_failed"}).json()
            if found["records"]:
                break
            assert time.monotonic() < deadline, "the failed delivery was not recorded"
            time.sleep(0.02)
    (record,) = found["records"]
    assert record["data"]["attempts"] == 4  # the first try and three retries
    assert record["data"]["error"] == "HTTP 500"
    assert failing.calls == 4


def test_dropped_events_never_reach_the_subscriber(serve_lab: ServeLab, listener: Listener) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        client.post(SUBSCRIPTIONS, json={"Destination": listener.url, "Protocol": "Redfish"})
        client.post("/lab/v1/faults", json={"kind": "drop-events", "count": 1})
        client.post(TEST_EVENT, json={"Message": "dropped"})
        client.post(TEST_EVENT, json={"Message": "delivered"})
        assert listener.next()["Events"][0]["Message"] == "delivered"
        dropped = client.get("/lab/v1/history", params={"kind": "event.dropped"}).json()
        assert len(dropped["records"]) == 1


def sse_events(response: httpx.Response, count: int) -> list[tuple[int, dict[str, Any]]]:
    """Read ``count`` events (id, Event document) off an SSE response."""
    found: list[tuple[int, dict[str, Any]]] = []
    event_id = 0
    for line in response.iter_lines():
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            found.append((event_id, json.loads(line[6:])))
            if len(found) == count:
                return found
    raise AssertionError("the stream ended")


def test_the_sse_stream_carries_events_filtered_and_resumes_after_an_id(
    serve_lab: ServeLab,
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        sse = "/redfish/v1/EventService/SSE"
        wanted = {"$filter": "MessageId eq 'ResourceEvent.1.4.ResourceStatusChangedCritical'"}
        with client.stream("GET", sse, params=wanted) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            client.post(TEST_EVENT, json={})  # filtered out
            client.post(
                "/lab/v1/faults", json={"kind": "component", "target": "b2", "component": "cpu"}
            )
            ((first_id, event),) = sse_events(stream, 1)
        record = event["Events"][0]
        assert record["MessageArgs"] == ["CPU1", "Critical"]
        assert record["OriginOfCondition"]["@odata.id"] == "/redfish/v1/Systems/b2/Processors/CPU1"
        # A reconnecting client names the last id it saw and gets what came after.
        client.post(TEST_EVENT, json={"Message": "after"})
        with client.stream("GET", sse, headers={"Last-Event-ID": str(first_id)}) as stream:
            ((later_id, later),) = sse_events(stream, 1)
        assert later_id > first_id
        assert later["Events"][0]["Message"] == "after"
        bad = client.get(sse, params={"$filter": "Colour eq 'red'"})
        assert bad.status_code == 400
        assert "Colour" in bad.json()["error"]["message"]


def test_subscriptions_survive_a_restart_of_the_lab(tmp_path: Path, listener: Listener) -> None:
    config = LabConfig.from_dict({"scale": 50.0, **LAB})
    with LabServer(config, tmp_path) as first, http(first) as client:
        client.post(SUBSCRIPTIONS, json={"Destination": listener.url, "Protocol": "Redfish"})
    with LabServer(config, tmp_path) as second, http(second) as client:
        (member,) = client.get(SUBSCRIPTIONS).json()["Members"]
        assert client.get(member["@odata.id"]).json()["Destination"] == listener.url
        client.post(TEST_EVENT, json={"Message": "still here"})
        assert listener.record("ResourceEvent.1.4.TestMessage")["Events"][0]["Message"] == (
            "still here"
        )
        made = client.post(SUBSCRIPTIONS, json={"Destination": listener.url, "Protocol": "Redfish"})
        assert made.json()["Id"] != member["@odata.id"].rsplit("/", 1)[-1]


def test_stopping_the_lab_ends_open_event_streams_cleanly(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    opened = threading.Event()
    ended: list[str] = []

    def read() -> None:
        try:
            with http(server) as client, client.stream("GET", "/redfish/v1/EventService/SSE") as s:
                for _ in s.iter_lines():
                    opened.set()
            ended.append("end of stream")
        except httpx.HTTPError as exc:
            ended.append(f"{type(exc).__name__}: {exc}")

    reader = threading.Thread(target=read)
    reader.start()
    assert opened.wait(timeout=10), "the stream did not open"
    server.stop()
    reader.join(timeout=10)
    assert ended == ["end of stream"]
