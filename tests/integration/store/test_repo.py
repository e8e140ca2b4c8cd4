"""The Repository against a migrated database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.model import Bmc, FcPort, Nic, SystemInventory
from kanri.domain.states import Health, PowerState
from kanri.store.db import Database
from kanri.store.repo import Repository
from kanri.store.tables import ApiTokenRow, BmcRow, MachineRow

PASSWORD = "s3cr3t-Passw0rd"
CHASSIS = Bmc(url="https://10.0.0.1", username="admin", password=PASSWORD, verify_tls=False)
SINGLE = Bmc(url="https://10.0.0.2", username="root", password="other-pass")


def inventory(system_id: str, power: PowerState = PowerState.OFF, **kw: Any) -> SystemInventory:
    return SystemInventory(
        system_id=system_id,
        manufacturer="Acme",
        model="B1",
        serial=f"SN-{system_id}",
        uuid=f"uuid-{system_id}",
        cpu_cores=16,
        memory_mib=65536,
        nics=(Nic("eth0", "52:54:00:00:00:01"),),
        fc_ports=(FcPort("fc0", "50:06:0e:80:00:00:00:01"),),
        health=Health.OK,
        power=power,
        **kw,
    )


def add_chassis(repo: Repository) -> None:
    repo.add_machines(
        CHASSIS,
        "redfish",
        {
            "blade-1": inventory("Blade1"),
            "blade-2": inventory("Blade2", PowerState.ON),
            "blade-3": inventory("Blade3"),
        },
    )


def count(db: Database, column: Any) -> int:
    with db.session() as s:
        return s.scalar(select(func.count(column))) or 0


@contextmanager
def writes(db: Database) -> Iterator[list[str]]:
    """Collect the INSERT/UPDATE/DELETE statements sent while the block runs."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


# adding --------------------------------------------------------------------------------


def test_add_several_machines_from_one_bmc(repo: Repository, db: Database) -> None:
    machines = repo.add_machines(
        CHASSIS,
        "redfish",
        {"blade-1": inventory("Blade1"), "blade-2": inventory("Blade2", PowerState.ON)},
    )

    assert [m.name for m in machines] == ["blade-1", "blade-2"]
    assert {m.bmc_url for m in machines} == {CHASSIS.url}
    assert {m.driver for m in machines} == {"redfish"}
    assert machines[1].power is PowerState.ON
    assert machines[1].power_checked_at is not None
    assert machines[0].inventory.nics == (Nic("eth0", "52:54:00:00:00:01"),)
    assert count(db, BmcRow.id) == 1
    assert count(db, MachineRow.id) == 2


def test_add_with_a_taken_name_writes_nothing(repo: Repository, db: Database) -> None:
    repo.add_machines(SINGLE, "redfish", {"blade-2": inventory("1")})

    with pytest.raises(Conflict, match="blade-2"):
        repo.add_machines(
            CHASSIS,
            "redfish",
            {"blade-1": inventory("Blade1"), "blade-2": inventory("Blade2")},
        )

    assert [m.name for m in repo.list_machines()] == ["blade-2"]
    assert count(db, BmcRow.id) == 1  # the chassis BMC was not left behind


def test_add_failing_in_the_database_writes_nothing(repo: Repository, db: Database) -> None:
    # Two names for one system: only the (bmc, system) unique constraint catches it, at flush,
    # after the BMC row was inserted. The whole transaction must go.
    with pytest.raises(Conflict):
        repo.add_machines(CHASSIS, "redfish", {"a": inventory("S1"), "b": inventory("S1")})

    assert repo.list_machines() == []
    assert count(db, BmcRow.id) == 0


def test_readding_a_known_system_conflicts(repo: Repository, db: Database) -> None:
    add_chassis(repo)

    with pytest.raises(Conflict, match="Blade2"):
        repo.add_machines(CHASSIS, "redfish", {"other-name": inventory("Blade2")})

    # A system new to a known BMC joins it, under the same BMC row.
    (blade4,) = repo.add_machines(CHASSIS, "redfish", {"blade-4": inventory("Blade4")})
    assert blade4.bmc_url == CHASSIS.url
    assert count(db, BmcRow.id) == 1
    assert count(db, MachineRow.id) == 4


def test_add_refuses_nothing_and_bad_names(repo: Repository, db: Database) -> None:
    with pytest.raises(Invalid):
        repo.add_machines(CHASSIS, "redfish", {})
    with pytest.raises(Invalid):
        repo.add_machines(CHASSIS, "redfish", {"Not A Name": inventory("S1")})
    assert count(db, BmcRow.id) == 0


# reading -------------------------------------------------------------------------------


def test_list_and_get(repo: Repository) -> None:
    add_chassis(repo)
    repo.add_machines(SINGLE, "fake", {"alpha": inventory("1")})

    assert [m.name for m in repo.list_machines()] == ["alpha", "blade-1", "blade-2", "blade-3"]
    machine = repo.get_machine("blade-2")
    assert machine.system_id == "Blade2"
    assert machine.inventory == inventory("Blade2", PowerState.ON)
    assert machine.health is Health.OK
    assert machine.reachable is True
    assert machine.desired_power is None
    with pytest.raises(NotFound, match="nope"):
        repo.get_machine("nope")


def test_bmc_of_decrypts_the_password(repo: Repository) -> None:
    add_chassis(repo)

    machine, bmc = repo.bmc_of("blade-3")

    assert machine.name == "blade-3"
    assert bmc == CHASSIS
    with pytest.raises(NotFound):
        repo.bmc_of("nope")


def test_password_is_never_stored_in_plaintext(repo: Repository, db: Database) -> None:
    add_chassis(repo)

    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM bmcs")).all()
    assert len(rows) == 1
    for value in rows[0]:
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        assert PASSWORD.encode() not in raw


def test_machines_with_bmcs(repo: Repository) -> None:
    add_chassis(repo)
    repo.add_machines(SINGLE, "fake", {"alpha": inventory("1")})

    pairs = repo.machines_with_bmcs()

    assert sorted((m.name, b.url, b.password) for m, b in pairs) == [
        ("alpha", SINGLE.url, SINGLE.password),
        ("blade-1", CHASSIS.url, PASSWORD),
        ("blade-2", CHASSIS.url, PASSWORD),
        ("blade-3", CHASSIS.url, PASSWORD),
    ]


def test_timestamps_are_aware_utc(repo: Repository) -> None:
    add_chassis(repo)
    before = datetime.now(UTC)
    repo.record_power("blade-1", PowerState.ON, reachable=True)

    checked = repo.get_machine("blade-1").power_checked_at

    assert checked is not None
    assert checked.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= checked <= datetime.now(UTC) + timedelta(seconds=1)


# changing ------------------------------------------------------------------------------


def test_rename(repo: Repository) -> None:
    add_chassis(repo)

    renamed = repo.rename_machine("blade-1", "web-1")

    assert renamed.name == "web-1"
    assert renamed.system_id == "Blade1"
    assert [m.name for m in repo.list_machines()] == ["blade-2", "blade-3", "web-1"]
    assert repo.rename_machine("web-1", "web-1").name == "web-1"
    with pytest.raises(Conflict, match="blade-2"):
        repo.rename_machine("web-1", "blade-2")
    with pytest.raises(Invalid):
        repo.rename_machine("web-1", "-bad-")
    with pytest.raises(NotFound):
        repo.rename_machine("blade-1", "x")
    assert [m.name for m in repo.list_machines()] == ["blade-2", "blade-3", "web-1"]


def test_remove_keeps_the_bmc_until_its_last_machine_goes(repo: Repository, db: Database) -> None:
    add_chassis(repo)
    repo.add_machines(SINGLE, "fake", {"alpha": inventory("1")})

    repo.remove_machine("blade-1")
    repo.remove_machine("blade-2")
    assert count(db, BmcRow.id) == 2

    repo.remove_machine("blade-3")
    assert count(db, BmcRow.id) == 1
    assert [m.name for m in repo.list_machines()] == ["alpha"]
    with pytest.raises(NotFound):
        repo.remove_machine("blade-3")

    # The BMC can be added afresh, with new credentials.
    fresh = Bmc(CHASSIS.url, "admin", "new-password")
    repo.add_machines(fresh, "redfish", {"blade-1": inventory("Blade1")})
    assert repo.bmc_of("blade-1")[1].password == "new-password"


def test_update_inventory(repo: Repository) -> None:
    add_chassis(repo)
    repo.record_power("blade-1", PowerState.OFF, reachable=False)

    fresh = SystemInventory(
        system_id="Blade1",
        manufacturer="Acme",
        model="B2",
        cpu_cores=32,
        nics=(Nic("eth0", "aa:bb:cc:dd:ee:ff"), Nic("eth1", "aa:bb:cc:dd:ee:00")),
        health=Health.WARNING,
        power=PowerState.ON,
    )
    machine = repo.update_inventory("blade-1", fresh)

    assert machine.inventory == fresh
    assert machine.reachable is True
    assert machine.power is PowerState.ON
    assert machine.health is Health.WARNING
    assert repo.get_machine("blade-1") == machine
    with pytest.raises(NotFound):
        repo.update_inventory("nope", fresh)


def test_update_inventory_without_power_keeps_the_last_reading(repo: Repository) -> None:
    add_chassis(repo)
    before = repo.get_machine("blade-2")

    after = repo.update_inventory("blade-2", inventory("Blade2", PowerState.UNKNOWN))

    assert after.power is PowerState.ON
    assert after.power_checked_at == before.power_checked_at


def _stamps(db: Database, name: str) -> tuple[Any, ...]:
    with db.session() as s:
        row = s.execute(
            select(MachineRow.power, MachineRow.reachable, MachineRow.updated_at).where(
                MachineRow.name == name
            )
        ).one()
        checked = s.scalar(select(MachineRow.power_checked_at).where(MachineRow.name == name))
        return (*row, checked)


def test_record_power_unchanged_writes_nothing(repo: Repository, db: Database) -> None:
    add_chassis(repo)
    before = _stamps(db, "blade-2")

    with writes(db) as statements:
        changed = repo.record_power("blade-2", PowerState.ON, reachable=True)

    assert changed is False
    assert statements == []
    assert _stamps(db, "blade-2") == before


def test_record_power_changed(repo: Repository, db: Database) -> None:
    add_chassis(repo)
    updated = _stamps(db, "blade-2")[2]
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    assert repo.record_power("blade-2", PowerState.OFF, reachable=True, at=at) is True

    machine = repo.get_machine("blade-2")
    assert machine.power is PowerState.OFF
    assert machine.power_checked_at == at
    assert _stamps(db, "blade-2")[2] > updated

    # Unreachable with the same power is a change too; coming back is another.
    assert repo.record_power("blade-2", PowerState.OFF, reachable=False) is True
    assert repo.get_machine("blade-2").reachable is False
    assert repo.record_power("blade-2", PowerState.OFF, reachable=False) is False
    assert repo.record_power("blade-2", PowerState.OFF, reachable=True) is True
    with pytest.raises(NotFound):
        repo.record_power("nope", PowerState.ON, reachable=True)


def test_set_desired_power(repo: Repository) -> None:
    add_chassis(repo)

    repo.set_desired_power("blade-1", PowerState.ON)
    assert repo.get_machine("blade-1").desired_power is PowerState.ON

    repo.set_desired_power("blade-1", None)
    assert repo.get_machine("blade-1").desired_power is None
    with pytest.raises(NotFound):
        repo.set_desired_power("nope", PowerState.OFF)


# events --------------------------------------------------------------------------------


def test_events(repo: Repository) -> None:
    first = repo.add_event("power", "info", "blade-1", "powered on", {"by": "operator"})
    repo.add_event("drift", "warning", "blade-2", "found off")
    last = repo.add_event("manager", "info", None, "started")

    events = repo.list_events()
    assert [e["id"] for e in events] == [last, last - 1, first]  # newest first
    assert events[2] == {
        "id": first,
        "at": events[2]["at"],
        "kind": "power",
        "severity": "info",
        "target": "blade-1",
        "message": "powered on",
        "details": {"by": "operator"},
    }
    assert events[1]["details"] == {}
    at = datetime.fromisoformat(events[0]["at"])
    assert at.utcoffset() == timedelta(0)  # the same "+00:00" on every backend

    assert [e["message"] for e in repo.list_events(target="blade-2")] == ["found off"]
    assert repo.list_events(target="nobody") == []
    assert [e["id"] for e in repo.list_events(limit=2)] == [last, last - 1]


def test_events_outlive_their_machine(repo: Repository) -> None:
    add_chassis(repo)
    repo.add_event("power", "info", "blade-1", "powered on")

    repo.remove_machine("blade-1")

    assert [e["target"] for e in repo.list_events()] == ["blade-1"]


# API tokens ----------------------------------------------------------------------------


def test_tokens(repo: Repository, db: Database) -> None:
    assert repo.has_token("admin") is False

    token = repo.create_token("admin")

    assert repo.has_token("admin") is True
    assert repo.check_token(token) == "admin"
    assert repo.check_token(token + "x") is None
    assert repo.check_token("") is None
    with db.session() as s:
        (row,) = s.scalars(select(ApiTokenRow)).all()
        assert row.sha256 == hashlib.sha256(token.encode()).hexdigest()
    with db.engine.connect() as conn:
        raw = " ".join(str(v) for v in conn.execute(text("SELECT * FROM api_tokens")).one())
    assert token not in raw


def test_creating_a_token_again_replaces_it(repo: Repository) -> None:
    old = repo.create_token("admin")
    other = repo.create_token("ci")

    new = repo.create_token("admin")

    assert new != old
    assert repo.check_token(old) is None
    assert repo.check_token(new) == "admin"
    assert repo.check_token(other) == "ci"
