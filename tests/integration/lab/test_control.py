"""The lab's control API over HTTP: state, faults in and out, and what BMC faults do to
the Redfish service while the control API keeps answering."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kanri.lab.server import LabServer
from tests.integration.lab.conftest import ServeLab

AUTH = ("admin", "password")
LAB = {
    "machines": [
        {"id": "b1", "power": "On"},
        {"id": "b2"},
        {"id": "b3", "mode": "hypervisor", "power": "On"},
    ],
    "partitions": [{"id": "p1", "host": "b3", "ports": ["fc0:shared"], "power": "On"}],
    "volumes": [{"id": "v1", "size_gib": 1}, {"id": "vp1", "size_gib": 1}],
    "host_groups": [
        {"id": "hg1", "initiators": ["b1/fc0"], "luns": {0: "v1"}},
        {"id": "hgp1", "initiators": ["p1/fc0"], "luns": {0: "vp1"}},
    ],
}


def http(server: LabServer, timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=AUTH, timeout=timeout)


def test_the_state_shows_every_system_the_san_and_the_clock(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        state = client.get("/lab/v1/state").json()
        clock = client.get("/lab/v1/clock").json()
    systems = {s["id"]: s for s in state["systems"]}
    assert sorted(systems) == ["b1", "b2", "b3", "p1"]
    b1, p1 = systems["b1"], systems["p1"]
    assert (b1["kind"], b1["power"], b1["boot"], b1["booted_volume"]) == (
        "machine",
        "On",
        "OSRunning",
        "v1",
    )
    assert b1["identities"] == sorted(b1["identities"])
    assert len(b1["identities"]) == 4
    assert (p1["kind"], p1["host"], p1["mode"], p1["booted_volume"]) == (
        "partition",
        "b3",
        None,
        "vp1",
    )
    assert systems["b3"]["mode"] == "hypervisor"
    assert systems["b2"]["boot"] == "None"
    assert state["faults"] == []
    assert state["violations"] == 0
    v1 = next(v for v in state["san"]["volumes"] if v["id"] == "v1")
    assert v1["used_by"] == ["b1"]
    assert clock["scale"] == 50.0
    assert clock["now"] > 0


def test_the_control_api_wants_the_labs_credentials(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    assert httpx.get(f"{server.url}/lab/v1/state").status_code == 401
    wrong = httpx.get(f"{server.url}/lab/v1/state", auth=("admin", "nope"))
    assert wrong.status_code == 401


def test_faults_go_in_list_and_come_out(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        made = client.post(
            "/lab/v1/faults",
            json={"kind": "component", "target": "b1", "component": "dimm", "id": "DIMM5",
                  "severity": "warning"},
        )  # fmt: skip
        assert made.status_code == 201
        assert made.json()["injected"] == {
            "kind": "component", "target": "b1", "component": "dimm", "id": "DIMM5",
            "severity": "warning",
        }  # fmt: skip
        client.post("/lab/v1/faults", json={"kind": "storage-path", "target": "p1"})
        client.post("/lab/v1/faults", json={"kind": "sessions-exhausted"})
        listed = client.get("/lab/v1/faults").json()["faults"]
        assert [f["kind"] for f in listed] == ["component", "sessions-exhausted", "storage-path"]
        system = client.get("/redfish/v1/Systems/b1").json()
        assert system["Status"]["Health"] == "Warning"
        partition = client.get("/lab/v1/state").json()["systems"][3]
        assert partition["boot"] == "OSHaltedOnIOError"  # p1 lost its volume
        one = client.delete("/lab/v1/faults", params={"target": "p1"}).json()
        assert one["cleared"] == ["storage-path p1"]
        rest = client.delete("/lab/v1/faults").json()
        assert sorted(rest["cleared"]) == ["component b1 DIMM5", "sessions-exhausted"]
        assert rest["faults"] == []
        assert client.get("/redfish/v1/Systems/b1").json()["Status"]["Health"] == "OK"
        kinds = [r["kind"] for r in client.get("/lab/v1/history?kind=fault.").json()["records"]]
    assert kinds[:3] == ["fault.component", "fault.storage_path", "fault.sessions_exhausted"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "kind is required"),
        ({"kind": "meteor"}, 400, "kind 'meteor' is not one of component"),
        ({"kind": "component", "target": "b1"}, 400, "component is required"),
        ({"kind": "component", "target": "b1", "component": "gpu"}, 400, "component 'gpu'"),
        ({"kind": "component", "component": "cpu"}, 400, "target is required"),
        ({"kind": "component", "target": "b9", "component": "cpu"}, 404, "no machine b9"),
        ({"kind": "power-loss", "target": "b1", "with_bmc": "yes"}, 400, "with_bmc must be"),
        ({"kind": "power-loss", "target": "b1", "colour": 1}, 400, "field 'colour' does not"),
        ({"kind": "bmc", "target": "b1", "mode": "sleepy"}, 400, "mode 'sleepy'"),
        ({"kind": "bmc", "target": "b1", "mode": "silent", "seconds": 3}, 400, "slow only"),
        ({"kind": "bmc", "target": "b1", "mode": "slow", "seconds": "x"}, 400, "seconds must"),
        ({"kind": "bmc", "target": "p1", "mode": "silent"}, 400, "target b3 instead"),
        ({"kind": "drop-events", "count": 0}, 400, "count must be a whole number"),
        ({"kind": "drop-events", "count": 2, "all": True}, 400, "not both"),
        ({"kind": "sessions-exhausted", "target": "b1"}, 400, "target must be '*'"),
        ({"kind": "storage-path", "target": "ghost"}, 404, "no machine or partition ghost"),
    ],
)  # fmt: skip
def test_a_bad_fault_is_a_json_error_naming_the_field(
    serve_lab: ServeLab, body: dict[str, Any], status: int, words: str
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        answer = client.post("/lab/v1/faults", json=body)
        assert answer.status_code == status
        assert words in answer.json()["error"]
        assert client.get("/lab/v1/faults").json()["faults"] == []


def test_other_bad_requests_are_json_errors(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        cases = [
            (client.post("/lab/v1/faults", content=b"{nope"), 400, "not valid JSON"),
            (client.post("/lab/v1/faults", json=[1]), 400, "must be a JSON object"),
            (client.delete("/lab/v1/faults", params={"target": "ghost"}), 404, "ghost"),
            (client.delete("/lab/v1/faults", params={"kind": "x"}), 400, "kind 'x'"),
            (client.get("/lab/v1/history", params={"since": "soon"}), 400, "since must be"),
            (client.get("/lab/v1/history", params={"limit": 0}), 400, "limit must be"),
            (client.get("/lab/v1/nothing"), 404, "nothing at /lab/v1/nothing"),
            (client.put("/lab/v1/state"), 405, "PUT is not allowed on /lab/v1/state"),
        ]
    for answer, status, words in cases:
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]


def test_an_unavailable_enclosure_manager_still_takes_control_requests(
    serve_lab: ServeLab,
) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        client.post("/lab/v1/faults", json={"kind": "bmc", "target": "*", "mode": "unavailable"})
        refused = client.get("/redfish/v1/Systems/b1")
        assert refused.status_code == 503
        message_id = refused.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
        assert message_id == "Base.1.22.ServiceTemporarilyUnavailable"
        assert client.get("/lab/v1/state").status_code == 200
        client.delete("/lab/v1/faults", params={"target": "*"})
        assert client.get("/redfish/v1/Systems/b1").status_code == 200


def test_a_dead_bmc_holds_requests_for_its_machine_only_until_power_returns(
    serve_lab: ServeLab,
) -> None:
    server = serve_lab(LAB)
    with http(server) as client, http(server, timeout=0.3) as impatient:
        client.post("/lab/v1/faults",
                    json={"kind": "power-loss", "target": "b3", "with_bmc": True})  # fmt: skip
        for path in ("/redfish/v1/Systems/b3", "/redfish/v1/Systems/p1"):
            with pytest.raises(httpx.ReadTimeout):
                impatient.get(path)
        assert impatient.get("/redfish/v1/Systems/b1").status_code == 200
        state = {s["id"]: s for s in client.get("/lab/v1/state").json()["systems"]}
        assert (state["b3"]["power"], state["p1"]["power"]) == ("Off", "Off")
        assert state["b3"]["unpowered"]
        client.delete("/lab/v1/faults", params={"target": "b3"})
        system = client.get("/redfish/v1/Systems/b3").json()
        assert system["PowerState"] == "Off"  # power back, the machine stays off


def test_a_slow_bmc_still_answers(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        slow = {"kind": "bmc", "target": "b1", "mode": "slow", "seconds": 10}
        client.post("/lab/v1/faults", json=slow)
        assert client.get("/redfish/v1/Systems/b1").status_code == 200  # 10 lab s = 0.2 s
        faults = client.get("/lab/v1/faults").json()["faults"]
    assert faults == [{"kind": "bmc", "target": "b1", "mode": "slow", "seconds": 10.0}]


def test_history_pages_with_since(serve_lab: ServeLab) -> None:
    server = serve_lab(LAB)
    with http(server) as client:
        first = client.get("/lab/v1/history").json()
        assert first["records"]
        assert first["last"] == first["records"][-1]["seq"]
        client.post("/lab/v1/faults", json={"kind": "drop-events", "all": True})
        later = client.get("/lab/v1/history", params={"since": first["last"]}).json()
    kinds = [r["kind"] for r in later["records"]]
    assert "fault.drop_events" in kinds
    assert all(r["seq"] > first["last"] for r in later["records"])
