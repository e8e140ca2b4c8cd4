"""/api/v1/layouts: list, show (stored or live), import, history, diff, apply."""

from __future__ import annotations

import yaml
from fastapi.testclient import TestClient

from kanri.domain.model import Bmc
from kanri.drivers.fake.partitions_world import partitions_world_of
from kanri.engine.manager import Manager

BMC = Bmc("fake://rack?systems=2", "admin", "pw")
DOC = {
    "version": 1,
    "host": {"name": "gone-1", "ports": {}},
    "partitions": [{"name": "app-1", "cores": 2, "memory_gib": 8}],
}


def _rack(manager: Manager) -> None:
    manager.machines.add("rack", BMC, driver="fake")
    world = partitions_world_of(manager.drivers.context)
    for machine in manager.repo.list_machines():
        world.add_host(BMC.url, machine.system_id, cores=8, memory_gib=32)


def test_import_show_history_and_diff(client: TestClient, manager: Manager) -> None:
    _rack(manager)
    made = client.post("/api/v1/layouts/import", json={"name": "gone", "yaml": yaml.safe_dump(DOC)})
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 1
    bad = client.post(
        "/api/v1/layouts/import", json={"name": "gone", "yaml": "version: 1\nhost: {}\n"}
    )
    assert bad.status_code == 422
    assert "layout.yaml: partitions: missing" in bad.text
    edited = {**DOC, "partitions": [{"name": "app-1", "cores": 4, "memory_gib": 8}]}
    client.post("/api/v1/layouts/import", json={"name": "gone", "yaml": yaml.safe_dump(edited)})
    shown = client.get("/api/v1/layouts/gone", params={"version": 1}).json()
    assert shown["version"] == 1
    assert yaml.safe_load(shown["yaml"]) == shown["document"]
    assert [v["version"] for v in client.get("/api/v1/layouts/gone/history").json()] == [1, 2]
    diff = client.get("/api/v1/layouts/gone/diff", params={"from": 1, "to": 2}).json()
    assert diff["changes"] == ["partition app-1: cores 2 -> 4"]
    assert client.get("/api/v1/layouts/gone/diff", params={"live": "true"}).status_code == 422
    live = client.get("/api/v1/layouts/rack-1").json()
    assert live["version"] == 0
    assert live["document"]["partitions"] == []
    assert [r["name"] for r in client.get("/api/v1/layouts").json()] == ["gone"]


def test_apply_is_a_job_and_a_misfit_is_refused(client: TestClient, manager: Manager) -> None:
    _rack(manager)
    client.post("/api/v1/layouts/import", json={"name": "gone", "yaml": yaml.safe_dump(DOC)})
    job = client.post("/api/v1/layouts/gone/apply", json={"to": "rack-2"})
    assert job.status_code == 202, job.text
    assert job.json()["kind"] == "layout.apply"
    assert [s["name"] for s in job.json()["steps"]] == ["create partition app-1 on rack-2"]
    huge = {**DOC, "partitions": [{"name": "huge-1", "cores": 64, "memory_gib": 8}]}
    client.post("/api/v1/layouts/import", json={"name": "huge", "yaml": yaml.safe_dump(huge)})
    refused = client.post("/api/v1/layouts/huge/apply", json={"to": "rack-1"})
    assert refused.status_code == 409
    assert "cores: 64 dedicated asked" in refused.text
    missing = client.post("/api/v1/layouts/huge/apply", json={"to": "nowhere"})
    assert missing.status_code == 404
