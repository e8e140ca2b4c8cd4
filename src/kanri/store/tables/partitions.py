"""Partitions, layouts and their versions, servers, run-state snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kanri.store.tables.base import Base, UtcDateTime, utcnow


class PartitionRow(Base):
    """What kanri keeps of a partition beside its machine row: the spec it was made with,
    and its run state and who set it last (docs/partitions.md)."""

    __tablename__ = "partitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(
        ForeignKey("machines.id", ondelete="CASCADE"), unique=True
    )
    host_machine_id: Mapped[int] = mapped_column(
        ForeignKey("machines.id", ondelete="RESTRICT"), index=True
    )
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_state: Mapped[str] = mapped_column(String(32), default="off")
    run_state_cause: Mapped[str] = mapped_column(String(32), default="")
    run_state_by: Mapped[str] = mapped_column(String(63), default="")  # a token, "kanri"
    run_state_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LayoutRow(Base):
    """A host's partition layout, versioned: every change is a new version."""

    __tablename__ = "layouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    # The machine it describes now; None for a layout imported and not applied yet.
    host_machine_id: Mapped[int | None] = mapped_column(
        ForeignKey("machines.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)  # the newest version's number
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LayoutVersionRow(Base):
    __tablename__ = "layout_versions"
    __table_args__ = (UniqueConstraint("layout_id", "version", name="uq_layout_versions"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layout_id: Mapped[int] = mapped_column(ForeignKey("layouts.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # domain.layout_doc.to_document
    reason: Mapped[str] = mapped_column(Text, default="")  # "partition create app-1", ...
    created_by: Mapped[str] = mapped_column(String(63), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ServerRow(Base):
    """A server: an identity, a boot volume and the resources it needs, placed on a bare
    machine or a partition (or nowhere)."""

    __tablename__ = "servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    # {"uuid": ..., "ports": {"fc0": WWPN, "nic0": MAC}}: presented wherever it runs.
    identity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    boot_volume: Mapped[str | None] = mapped_column(String(255))  # "array/volume"
    cores: Mapped[int | None] = mapped_column(Integer)
    memory_gib: Mapped[int | None] = mapped_column(Integer)
    desired_power: Mapped[str] = mapped_column(String(16), default="off")
    machine_id: Mapped[int | None] = mapped_column(
        ForeignKey("machines.id", ondelete="RESTRICT"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class RunStateSnapshotRow(Base):
    """The run states of a host's partitions frozen when the host failed or was forced
    off: what to start, exactly, when it comes back or its layout is applied elsewhere."""

    __tablename__ = "run_state_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_machine_id: Mapped[int | None] = mapped_column(
        ForeignKey("machines.id", ondelete="SET NULL"), index=True
    )
    host_name: Mapped[str] = mapped_column(String(63))  # kept if the machine goes
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    cause: Mapped[str] = mapped_column(String(32))
    states: Mapped[dict[str, Any]] = mapped_column(JSON)  # partition -> {state, by, at}
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    restored_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
