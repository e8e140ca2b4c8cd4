from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanri.drivers.fake import FakeBmc, FakeWorld, world_of
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.sync import SyncOptions
from kanri.settings import Settings
from kanri.store import migrate
from kanri.store.db import Database


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}")
    options = ManagerOptions(
        workers=4,
        operator_workers=2,
        run_sync=False,
        sync=SyncOptions(unreachable_after=3, settle_grace=0),
    )
    m = Manager(settings, options)
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture
def world(manager: Manager) -> FakeWorld:
    return world_of(manager.drivers.context)


@pytest.fixture
def bmc(manager: Manager, request: pytest.FixtureRequest) -> FakeBmc:
    """The fake BMC behind the test module's ``BMC`` (a machine the module adds)."""
    return world_of(manager.drivers.context).bmcs[request.module.BMC.url]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test module, copied for each test (migrating takes a
    while)."""
    path = tmp_path_factory.mktemp("migrated-template") / "kanri.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(tmp_path: Path, migrated: Path) -> Iterator[Database]:
    """A freshly migrated SQLite database of the test's own (no Manager on it)."""
    shutil.copy(migrated, tmp_path / "kanri.db")
    database = Database(f"sqlite:///{tmp_path / 'kanri.db'}")
    yield database
    database.dispose()
