"""Durable jobs and their target locks; groups, calendars and power schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kanri.store.tables.base import Base, UtcDateTime, utcnow


class JobRow(Base):
    """A job and who runs it; the owner renews ``lease_expires_at`` while it lives."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    steps: Mapped[list[JobStepRow]] = relationship(
        back_populates="job", order_by="JobStepRow.index", cascade="all, delete-orphan"
    )


class JobStepRow(Base):
    """One step of a job: the journal. Written before its action acts and after it ends."""

    __tablename__ = "job_steps"
    __table_args__ = (UniqueConstraint("job_id", "index", name="uq_job_steps_job_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    target: Mapped[str | None] = mapped_column(String(63))
    action: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    group: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    job: Mapped[JobRow] = relationship(back_populates="steps")


class TargetLockRow(Base):
    """One target held by one job; free again when released or when the lease expires."""

    __tablename__ = "target_locks"

    target: Mapped[str] = mapped_column(String(63), primary_key=True)
    job_id: Mapped[int] = mapped_column(Integer, index=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


# Groups, calendars and power schedules (issue 4) ------------------------------------------


class GroupRow(Base):
    """A named, flat set of machines."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class GroupMemberRow(Base):
    """A machine in a group; removing the machine drops its memberships."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    machine_id: Mapped[int] = mapped_column(
        ForeignKey("machines.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CalendarRow(Base):
    """Exception days (holidays): ISO dates as a JSON list."""

    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ScheduleRow(Base):
    """A power action on a machine or a group at times a rule names, in a time zone."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    action: Mapped[str] = mapped_column(String(16))
    # Exactly one of the two: a schedule goes with its machine; a group in use is kept.
    machine_id: Mapped[int | None] = mapped_column(
        ForeignKey("machines.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="RESTRICT"), index=True
    )
    rule: Mapped[str] = mapped_column(String(255))  # domain.schedules.parse_rule
    zone: Mapped[str] = mapped_column(String(64))
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("calendars.id", ondelete="RESTRICT"), index=True
    )
    calendar_mode: Mapped[str] = mapped_column(String(8), default="skip")
    missed: Mapped[str] = mapped_column(String(16), default="skip")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Runs due after this are fired: made, last enabled, or last given new times.
    runs_from: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ScheduleLockRow(Base):
    """One row that every schedule write (and run claim) updates first: it serialises
    checking a schedule against the others with storing it, on SQLite and PostgreSQL."""

    __tablename__ = "schedule_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ScheduleRunRow(Base):
    """A run of a schedule, claimed once: the unique (schedule, due time) pair is what keeps
    two managers sharing a database from firing one run twice."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
