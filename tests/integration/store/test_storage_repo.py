"""The storage arrays' repository against a migrated database, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.storage import StorageArray, StorageSystem
from kanri.store.db import Database
from kanri.store.secrets import Secrets
from kanri.store.storage_repo import StorageRepository
from kanri.store.tables import StorageSystemRow

PASSWORD = "array-Passw0rd"
ARRAY = StorageArray("https://10.0.0.20", "admin", PASSWORD, verify_tls=False)


@pytest.fixture
def storage(db: Database, tmp_path: Path) -> StorageRepository:
    return StorageRepository(db, Secrets(tmp_path / "secret.key"))


def test_add_get_list_and_remove(storage: StorageRepository) -> None:
    added = storage.add("san1", "swordfish", ARRAY)
    assert added == StorageSystem("san1", ARRAY.url, "swordfish", "admin", verify_tls=False)
    other = storage.add("san0", "fake", StorageArray("fake://san0", "root", "x"))
    assert storage.systems() == [other, added]
    assert storage.get("san1") == added
    storage.remove("san1")
    assert storage.systems() == [other]
    with pytest.raises(NotFound, match="san1"):
        storage.get("san1")
    with pytest.raises(NotFound):
        storage.remove("san1")


def test_the_password_is_encrypted_and_given_back_to_drivers_only(
    storage: StorageRepository, db: Database
) -> None:
    storage.add("san1", "swordfish", ARRAY)
    with db.session() as session:
        stored = session.scalars(select(StorageSystemRow.password_encrypted)).one()
    assert PASSWORD.encode() not in stored
    system, array = storage.array_of("san1")
    assert array == ARRAY
    assert system.name == "san1"
    assert PASSWORD not in repr(system) + repr(array)


def test_one_name_and_one_url_each(storage: StorageRepository) -> None:
    storage.add("san1", "swordfish", ARRAY)
    with pytest.raises(Conflict, match="named 'san1'"):
        storage.add("san1", "swordfish", StorageArray("https://10.0.0.21", "a", "b"))
    with pytest.raises(Conflict, match="registered already as san1"):
        storage.add("san2", "swordfish", ARRAY)
    with pytest.raises(Invalid):
        storage.add("San 2", "swordfish", StorageArray("https://10.0.0.21", "a", "b"))
    assert [s.name for s in storage.systems()] == ["san1"]
