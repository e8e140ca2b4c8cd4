from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from kanri.domain.errors import KanriError
from kanri.store import migrate
from kanri.store.db import make_engine
from kanri.store.tables import Base
from tests.peers.postgres import PostgresServer


def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(conn).get_table_names())
        assert tables == {*Base.metadata.tables, "alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    assert migrate.current(database_url) is None
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO events (at, kind, severity, message, details, key, component,"
                    " affected, diagnostics) "
                    "VALUES (CURRENT_TIMESTAMP, 'k', 'info', 'kept', '{}', '', '', '[]', '{}')"
                )
            )
        migrate.upgrade(database_url)
        migrate.upgrade(database_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT message FROM events")).scalars().all() == ["kept"]
    finally:
        engine.dispose()
    assert migrate.current(database_url) == migrate.head()
    migrate.check(database_url)


def test_unknown_revision_is_refused(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    finally:
        engine.dispose()

    with pytest.raises(KanriError, match="newer kanri"):
        migrate.check(database_url)
    with pytest.raises(KanriError, match="'f00d'"):
        migrate.upgrade(database_url)


@pytest.mark.postgres
def test_error_never_shows_the_password(postgres_server: PostgresServer) -> None:
    name = postgres_server.create_database()
    # trust authentication ignores the password; the URL still carries it
    url = postgres_server.url(name).replace("postgres@", "postgres:sekrit@")
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        finally:
            engine.dispose()
        with pytest.raises(KanriError) as exc:
            migrate.check(url)
        assert "sekrit" not in str(exc.value)
        assert "***" in str(exc.value)
    finally:
        postgres_server.drop_database(name)


def test_a_database_at_the_first_revision_is_upgraded_keeping_its_rows(
    database_url: str,
) -> None:
    """0001 -> 0002 on a database with a machine in it, on both backends."""
    from alembic import command

    from kanri.store.migrate import _config

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config = _config(database_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO bmcs (id, url, username, password_encrypted, verify_tls,"
                    " driver, created_at) VALUES (1, 'fake://a', 'u', :pw, true, 'fake', :at)"
                ),
                {"pw": b"x", "at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
            connection.execute(
                text(
                    "INSERT INTO machines (id, name, bmc_id, system_id, nics, fc_ports, health,"
                    " power, reachable, created_at, updated_at) VALUES (1, 'm1', 1, '1', '[]',"
                    " '[]', 'ok', 'on', true, :at, :at)"
                ),
                {"at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
    finally:
        engine.dispose()
    migrate.upgrade(database_url)
    assert migrate.current(database_url) == migrate.head()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT name, power, power_commanded_at FROM machines")
            ).one()
        assert tuple(row) == ("m1", "on", None)
    finally:
        engine.dispose()
