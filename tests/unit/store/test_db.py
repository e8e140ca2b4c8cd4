from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from kanri.store.db import Database, make_engine


def test_file_database_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kanri.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 10000
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
    finally:
        engine.dispose()
    assert (tmp_path / "kanri.db-wal").exists() or (tmp_path / "kanri.db").exists()


def test_session_commits_or_rolls_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kanri.db'}")
    try:
        with db.session() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
            s.execute(text("INSERT INTO t VALUES (1)"))
        try:
            with db.session() as s:
                s.execute(text("INSERT INTO t VALUES (2)"))
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        with db.session() as s:
            assert s.execute(text("SELECT x FROM t")).scalars().all() == [1]
    finally:
        db.dispose()
