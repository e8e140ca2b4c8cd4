"""A migrated database and a Repository on it, once per backend (see ``database_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kanri.store import migrate
from kanri.store.db import Database
from kanri.store.repo import Repository
from kanri.store.secrets import Secrets


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def repo(db: Database, tmp_path: Path) -> Repository:
    return Repository(db, Secrets(tmp_path / "secret.key"))
