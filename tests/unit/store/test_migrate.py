"""The migration scripts as shipped, and the revision checks, on SQLite (both backends: tests/
integration/store/test_migrations.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import kanri.store
from kanri.domain.errors import KanriError
from kanri.store import migrate
from kanri.store.db import make_engine


def test_scripts_live_inside_the_package() -> None:
    package = Path(kanri.store.__file__).parent
    assert package / "migrations" == migrate.SCRIPT_LOCATION
    for name in (
        "env.py",
        "script.py.mako",
        "versions/__init__.py",
        "versions/0001_initial.py",
        "versions/0002_power_commanded_at.py",
        "versions/0003_storage_systems.py",
    ):
        assert (migrate.SCRIPT_LOCATION / name).is_file(), name


def test_head_is_the_newest_revision() -> None:
    versions = (migrate.SCRIPT_LOCATION / "versions").glob("[0-9]*.py")
    assert migrate.head() == max(v.name.split("_", 1)[0] for v in versions)


def test_fresh_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kanri.db'}"

    assert migrate.current(url) is None
    migrate.check(url)  # an empty database is fine: upgrade brings it forward
    migrate.upgrade(url)

    assert migrate.current(url) == migrate.head()


def test_upgrade_keeps_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kanri.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        engine.dispose()


def test_url_with_percent_escapes(tmp_path: Path) -> None:
    # configparser interpolation would choke on a raw '%' (URL-encoded passwords have them)
    (tmp_path / "50%").mkdir()
    url = f"sqlite:///{tmp_path / '50%25' / 'kanri.db'}"  # URL paths are percent-decoded

    migrate.upgrade(url)

    assert migrate.current(url) == migrate.head()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kanri.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(KanriError, match="'9999', which this kanri") as exc:
        migrate.check(url)
    assert "newer kanri" in str(exc.value)
    with pytest.raises(KanriError, match="'9999'"):
        migrate.upgrade(url)
    assert migrate.current(url) == "9999"
