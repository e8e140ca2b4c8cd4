"""What kanri keeps of partitions and modes, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.partitions import CpuMode, MachineMode, PartitionSpec, PortUse
from kanri.domain.states import SystemKind
from kanri.store.db import Database
from kanri.store.partitions_repo import PartitionsRepository, spec_from_json, spec_to_json
from kanri.store.repo import Repository
from kanri.store.tables import PartitionRow, ServerRow

BMC = Bmc("https://10.0.0.9", "admin", "pw")
SPEC = PartitionSpec(
    "app-1",
    4,
    16,
    CpuMode.SHARED,
    300,
    (PortUse("fc0", shared=True, identity="c0:50:76:00:00:00:00:01"), PortUse("nic0")),
    (0, 1, 2, 3),
)


@pytest.fixture
def store(db: Database, repo: Repository) -> PartitionsRepository:
    repo.add_machines(
        BMC,
        "redfish",
        {
            "blade-1": SystemInventory("blade-1"),
            "blade-2": SystemInventory("blade-2"),
            "app-1": SystemInventory("app-1", kind=SystemKind.PARTITION, host_system_id="blade-1"),
        },
    )
    return PartitionsRepository(db)


def test_spec_round_trips_through_json() -> None:
    assert spec_from_json(spec_to_json(SPEC)) == SPEC


def test_add_get_list_set_spec(store: PartitionsRepository) -> None:
    kept = store.add("app-1", "blade-1", SPEC, "alice")
    assert (kept.name, kept.host, kept.system_id, kept.spec) == ("app-1", "blade-1", "app-1", SPEC)
    assert (kept.run_state, kept.run_state_by) == ("off", "alice")
    assert store.get("app-1") == kept
    assert store.list() == [kept]
    assert store.list("blade-1") == [kept]
    assert store.list("blade-2") == []
    bigger = PartitionSpec("app-1", 6, 32)
    assert store.set_spec("app-1", bigger).spec == bigger
    assert store.get("app-1").spec == bigger
    with pytest.raises(Conflict, match="app-1 is a kanri partition already"):
        store.add("app-1", "blade-1", SPEC, "alice")


def test_unknown_names(store: PartitionsRepository) -> None:
    with pytest.raises(NotFound, match="no machine named 'nope'"):
        store.get("nope")
    with pytest.raises(NotFound, match="blade-2 is not a kanri partition"):
        store.get("blade-2")
    assert store.find("blade-2") is None
    with pytest.raises(NotFound, match="no machine named 'nope'"):
        store.list("nope")


def test_removing_the_machine_removes_its_partition_row(
    store: PartitionsRepository, repo: Repository, db: Database
) -> None:
    store.add("app-1", "blade-1", SPEC, "alice")
    repo.remove_machine("app-1")
    assert store.list() == []
    with db.session() as session:
        assert session.scalars(select(PartitionRow)).all() == []


def test_modes_are_kept_and_shown_on_the_machine(
    store: PartitionsRepository, repo: Repository
) -> None:
    assert store.mode("blade-1") == (None, None)
    store.set_mode("blade-1", MachineMode.BARE, MachineMode.HYPERVISOR)
    assert store.mode("blade-1") == (MachineMode.BARE, MachineMode.HYPERVISOR)
    machine = repo.get_machine("blade-1")
    assert (machine.mode, machine.pending_mode) == (MachineMode.BARE, MachineMode.HYPERVISOR)


def test_servers_on_and_unplace(store: PartitionsRepository, db: Database) -> None:
    with db.session() as session:
        blade = store._machine(session, "blade-2")
        session.add(
            ServerRow(
                name="db",
                identity={"uuid": "u", "ports": {"fc0": "c0:50:76:00:00:00:00:09"}},
                machine_id=blade.id,
                desired_power="on",
            )
        )
    assert store.servers_on("blade-2") == ["db"]
    assert store.placed_ports("blade-2") == {"db": ["fc0"]}
    assert store.unplace_servers("blade-2") == ["db"]
    assert store.servers_on("blade-2") == []
    with db.session() as session:
        row = session.scalars(select(ServerRow)).one()
        assert (row.machine_id, row.desired_power) == (None, "off")
