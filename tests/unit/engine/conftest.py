from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kanri.drivers.fake import FakeWorld, world_of
from kanri.engine.manager import Manager, ManagerOptions
from kanri.engine.sync import SyncOptions
from kanri.settings import Settings


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
