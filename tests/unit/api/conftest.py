from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kanri.api.app import create_app
from kanri.drivers.fake import FakeWorld, world_of
from kanri.engine.manager import Manager, ManagerOptions
from kanri.settings import Settings


@pytest.fixture
def manager(tmp_path: Path) -> Manager:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}")
    return Manager(settings, ManagerOptions(workers=4, run_sync=False))


@pytest.fixture
def world(manager: Manager) -> FakeWorld:
    return world_of(manager.drivers.context)


@pytest.fixture
def client(manager: Manager) -> Iterator[TestClient]:
    with TestClient(create_app(manager)) as c:
        c.headers["Authorization"] = f"Bearer {manager.admin_token}"
        yield c
