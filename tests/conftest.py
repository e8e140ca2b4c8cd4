"""Fixtures every test may use. Sub-packages add their own in their own conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.postgres import PeerUnavailable, PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session; fails (never skips) if missing."""
    server: PostgresServer | None = None
    problem = ""
    try:
        server = PostgresServer()
        server.start()
    except PeerUnavailable as exc:
        problem = str(exc)
    if server is None or problem:
        if server is not None:
            server.stop()
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of its own, on each backend kanri supports.

    Not migrated: call ``kanri.store.migrate.upgrade(url)`` first. Dispose your engines before
    the test ends (a PostgreSQL database is dropped with its connections cut off).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kanri.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)
