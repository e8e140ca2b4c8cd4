"""Naming rules: every constraint and index has a name, made by the convention in
store/tables/base.py.

Alembic can only drop or alter what it can name, and SQLite's batch mode needs the names too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    UniqueConstraint,
    insert,
    select,
)

from kanri.store.db import make_engine
from kanri.store.tables import Base, EventRow

CONVENTION_PREFIX = {
    PrimaryKeyConstraint: "pk_",
    UniqueConstraint: "uq_",
    ForeignKeyConstraint: "fk_",
    CheckConstraint: "ck_",
}


def test_every_constraint_is_named_by_the_convention() -> None:
    for table in Base.metadata.sorted_tables:
        for constraint in table.constraints:
            name = constraint.name
            assert isinstance(name, str), f"{table.name}: unnamed {constraint!r}"
            prefix = CONVENTION_PREFIX[type(constraint)]
            assert name.startswith(f"{prefix}{table.name}"), name
            assert len(name) <= 63, f"{name} is too long for PostgreSQL"
        for index in table.indexes:
            assert isinstance(index.name, str)
            assert index.name.startswith(f"ix_{table.name}_"), index.name


def test_expected_names() -> None:
    names = {str(c.name) for t in Base.metadata.sorted_tables for c in t.constraints}
    names |= {str(i.name) for t in Base.metadata.sorted_tables for i in t.indexes}
    assert {
        "pk_machines",
        "uq_machines_name",
        "uq_machines_bmc_system",
        "fk_machines_bmc_id_bmcs",
        "ix_machines_bmc_id",
        "uq_bmcs_url",
        "ix_events_at",
        "ix_events_target",
        "uq_api_tokens_sha256",
    } <= names


def test_timestamps_come_back_aware_in_utc_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kanri.db'}")
    Base.metadata.create_all(engine)
    tokyo = timezone(timedelta(hours=9))
    at = datetime(2024, 4, 1, 9, 0, tzinfo=tokyo)
    try:
        with engine.begin() as conn:
            conn.execute(insert(EventRow).values(at=at, kind="k", severity="info", message="m"))
            got = conn.execute(select(EventRow.at)).scalar_one()
        assert got == at
        assert got.tzinfo is UTC
        assert got.hour == 0
    finally:
        engine.dispose()


def test_naive_timestamps_are_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kanri.db'}")
    Base.metadata.create_all(engine)
    try:
        with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
            conn.execute(
                insert(EventRow).values(
                    at=datetime(2024, 4, 1), kind="k", severity="info", message="m"
                )
            )
    finally:
        engine.dispose()
