"""BMCs, machines, events, API tokens and storage arrays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kanri.store.tables.base import Base, UtcDateTime, utcnow


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
    # bare / hypervisor as the machine's firmware last said, and a change waiting for its
    # next boot (docs/partitions.md). None: not known (a driver without modes).
    mode: Mapped[str | None] = mapped_column(String(16))
    pending_mode: Mapped[str | None] = mapped_column(String(16))
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
    # Fault management (docs/events.md): observations with one key grow one event.
    key: Mapped[str] = mapped_column(String(255), default="", index=True)
    component: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    source: Mapped[str] = mapped_column(String(16), default="manager", server_default="manager")
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Partitions and servers running on the target when it happened (a host's fault is
    # theirs too), and what the BMC said around it: parts, SEL lines, sensor readings.
    affected: Mapped[list[str]] = mapped_column(JSON, default=list)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acked_by: Mapped[str | None] = mapped_column(String(63))
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


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


# Durable jobs (domain/jobs.py, store/jobs_repo.py) -------------------------------------
