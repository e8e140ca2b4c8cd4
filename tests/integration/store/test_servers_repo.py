"""ServersRepository on each backend: identities kept, names and placements unique."""

from __future__ import annotations

import pytest

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.servers import Identity, Server
from kanri.domain.states import PowerState
from kanri.store.db import Database
from kanri.store.repo import Repository
from kanri.store.servers_repo import ServersRepository

BMC = Bmc(url="https://10.0.0.9", username="admin", password="pw")
WWPN = "20:00:00:6b:00:01:00:00"


@pytest.fixture
def store(repo: Repository, db: Database) -> ServersRepository:
    repo.add_machines(
        BMC, "redfish", {"blade-1": SystemInventory("1"), "blade-2": SystemInventory("2")}
    )
    return ServersRepository(db)


def server(name: str, wwpn: str = WWPN) -> Server:
    """``name`` with ``wwpn`` on fc0 and a MAC of its own on nic0."""
    mac = "0a:00:00:00:00:" + wwpn[-2:]
    return Server(name, Identity(f"uuid-{name}", {"fc0": wwpn, "nic0": mac}), "SAN/vol-1", 2, 8)


def test_add_get_list_remove(store: ServersRepository) -> None:
    made = store.add(server("web-1"))
    assert made == server("web-1")
    assert store.get("web-1").identity.ports == {"fc0": WWPN, "nic0": "0a:00:00:00:00:00"}
    assert [s.name for s in store.list()] == ["web-1"]
    store.remove("web-1")
    assert store.find("web-1") is None
    with pytest.raises(NotFound, match="no server named 'web-1'"):
        store.get("web-1")


def test_add_refuses_a_taken_name_or_identity(store: ServersRepository) -> None:
    store.add(server("web-1"))
    with pytest.raises(Conflict, match="exists already"):
        store.add(server("web-1", "20:00:00:6b:00:01:00:07"))
    with pytest.raises(Conflict, match="already server web-1's port fc0"):
        store.add(server("web-2"))
    with pytest.raises(Conflict, match="machine's name"):
        store.add(server("blade-1", "20:00:00:6b:00:01:00:08"))
    assert [s.name for s in store.list()] == ["web-1"]


def test_placement_is_one_server_per_machine(store: ServersRepository) -> None:
    store.add(server("web-1"))
    store.add(server("web-2", "20:00:00:6b:00:01:00:02"))
    assert store.place("web-1", "blade-1").placed_on == "blade-1"
    assert store.on_machine("blade-1") == store.get("web-1")
    with pytest.raises(Conflict, match="blade-1 holds server web-1"):
        store.place("web-2", "blade-1")
    with pytest.raises(NotFound, match="no machine named 'blade-9'"):
        store.place("web-2", "blade-9")
    store.place("web-1", None)
    assert store.on_machine("blade-1") is None
    store.place("web-2", "blade-1")
    store.set_desired_power("web-2", PowerState.ON)
    got = store.get("web-2")
    assert (got.placed_on, got.desired_power) == ("blade-1", PowerState.ON)
    assert {s.name: s.placed_on for s in store.list()} == {"web-1": None, "web-2": "blade-1"}
