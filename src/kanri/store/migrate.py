"""Bring a configuration database to the schema this kanri expects; no alembic.ini needed.

``upgrade(url)``  migrate to the newest revision (safe to run again, and from several managers at
                  once: PostgreSQL takes an advisory lock, SQLite a write lock, for the whole run).
``current(url)``  the revision the database is at, ``None`` when it was never migrated.
``check(url)``    raise :class:`~kanri.domain.errors.KanriError` when the database is at a
                  revision this kanri does not know (a newer kanri migrated it).
``head()``        the newest revision this kanri ships.

On SQLite a migration runs in one real transaction (``BEGIN IMMEDIATE``) with foreign keys
switched off, as batch-mode table copies need; it is rolled back if it leaves a dangling
reference. On PostgreSQL the DDL is transactional anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, make_url, text

from kanri.domain.errors import KanriError
from kanri.store.db import make_engine

SCRIPT_LOCATION = Path(__file__).with_name("migrations")

# pg_advisory_xact_lock key: "kanri" in ASCII; any constant shared by all managers will do.
_PG_LOCK_KEY = 0x6B616E7269


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    # Config values go through configparser interpolation: a '%' (URL-encoded password) doubles.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(SCRIPT_LOCATION))


def head() -> str:
    """The newest revision this kanri ships."""
    rev = _scripts().get_current_head()
    assert rev is not None  # there is at least the initial revision
    return rev


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _check(connection: Connection, url: str) -> None:
    rev = _current(connection)
    if rev is None:
        return
    known = {script.revision for script in _scripts().walk_revisions()}
    if rev not in known:
        raise KanriError(
            f"the database {_shown(url)} is at schema revision {rev!r}, which this kanri "
            f"(newest revision {head()!r}) does not know: a newer kanri has upgraded it; "
            "run that version of kanri, or upgrade this one"
        )


def _migration_engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name != "sqlite":
        return engine

    # The SQLAlchemy recipe for real SQLite transactions: the driver stops managing them and
    # every transaction starts with BEGIN IMMEDIATE, which also queues concurrent upgrades.
    # Only for this short-lived engine; make_engine's pragmas have run already.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")  # cannot change inside a transaction
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade(url: str) -> None:
    """Migrate the database at ``url`` to the newest revision; does nothing if it is there."""
    engine = _migration_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            _check(connection, url)
            if _current(connection) == head():
                return
            config = _config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if connection.dialect.name == "sqlite":
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if dangling:
                    raise KanriError(
                        f"migrating {_shown(url)} left rows with dangling references "
                        f"({dangling[:5]}); nothing was changed"
                    )
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at; ``None`` if it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _current(connection)
    finally:
        engine.dispose()


def check(url: str) -> None:
    """Raise :class:`KanriError` if the database is at a revision this kanri does not know.

    A database that is behind (or empty) passes: :func:`upgrade` brings it forward.
    Use :func:`current` and :func:`head` to tell whether an upgrade is pending.
    """
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _check(connection, url)
    finally:
        engine.dispose()
