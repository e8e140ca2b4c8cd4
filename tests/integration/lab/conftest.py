"""The lab served over HTTP on loopback, as kanri and sushy see it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer

ServeLab = Callable[[dict[str, Any]], LabServer]


@pytest.fixture
def serve_lab(tmp_path: Path) -> Iterator[ServeLab]:
    """``serve_lab({...lab.yaml as a dict...})`` -> a started LabServer (scale 50 unless
    the dict says otherwise); every one started is stopped after the test."""
    servers: list[LabServer] = []

    def serve(raw: dict[str, Any]) -> LabServer:
        raw = {"scale": 50.0, **raw}
        server = LabServer(LabConfig.from_dict(raw), tmp_path / f"lab{len(servers)}").start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture
def http(lab: LabServer) -> Iterator[httpx.Client]:
    """A plain HTTP client on the lab of the module's own ``lab`` fixture."""
    with httpx.Client(base_url=lab.url, auth=("admin", "password"), timeout=10) as client:
        yield client
