"""The configuration database. Change a table only together with a migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that reads back timezone-aware in UTC on every backend.

    PostgreSQL keeps the offset (``timestamptz``); SQLite keeps none and would hand back naive
    values, and would silently drop a non-UTC offset on the way in. So values are converted to
    UTC before they are stored and marked UTC when read. Naive values are refused: their zone is
    a guess. In migrations this is plain ``sa.DateTime(timezone=True)``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware one, e.g. datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class BmcRow(Base):
    """A management endpoint; one BMC may manage many machines (a chassis manager)."""

    __tablename__ = "bmcs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(512), unique=True)
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    verify_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    driver: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    machines: Mapped[list[MachineRow]] = relationship(back_populates="bmc")


class MachineRow(Base):
    __tablename__ = "machines"
    __table_args__ = (UniqueConstraint("bmc_id", "system_id", name="uq_machines_bmc_system"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    bmc_id: Mapped[int] = mapped_column(ForeignKey("bmcs.id", ondelete="RESTRICT"), index=True)
    system_id: Mapped[str] = mapped_column(String(255))
    manufacturer: Mapped[str | None] = mapped_column(String(255))
    model: Mapped[str | None] = mapped_column(String(255))
    serial: Mapped[str | None] = mapped_column(String(255))
    uuid: Mapped[str | None] = mapped_column(String(64))
    cpu_cores: Mapped[int | None] = mapped_column(Integer)
    memory_mib: Mapped[int | None] = mapped_column(Integer)
    nics: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    fc_ports: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16), default="machine", server_default="machine")
    # A partition's machine, as the BMC names it (system id behind the same BMC).
    host_system_id: Mapped[str | None] = mapped_column(String(255))
    health: Mapped[str] = mapped_column(String(16), default="unknown")
    power: Mapped[str] = mapped_column(String(16), default="unknown")
    power_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # What kanri last asked for; a settled reading that differs is a drift event.
    desired_power: Mapped[str | None] = mapped_column(String(16))
    # When kanri last sent a power command: until it settles, a differing reading is a
    # transition, not drift. In the database so that every manager sees it.
    power_commanded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    bmc: Mapped[BmcRow] = relationship(back_populates="machines")


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    # The target's name is kept as text so the event outlives the machine.
    target: Mapped[str | None] = mapped_column(String(63), index=True)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class StorageSystemRow(Base):
    """A storage array kanri manages volumes and host groups on, by its management URL."""

    __tablename__ = "storage_systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    # One array, one set of credentials: a second name for it would be a second truth.
    url: Mapped[str] = mapped_column(String(512), unique=True)
    driver: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(255))
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    verify_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
