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


class RuleRow(Base):
    """An operator's rule: which events it matches and the actions it runs, in order."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # rules are tried in order
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    match: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # At most rate_count firings per rate_seconds; none within quiet_seconds of the last.
    rate_count: Mapped[int | None] = mapped_column(Integer)
    rate_seconds: Mapped[int | None] = mapped_column(Integer)
    quiet_seconds: Mapped[int] = mapped_column(Integer, default=0)
    origin: Mapped[str] = mapped_column(String(255), default="api")  # "api" or the YAML file
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class MaintenanceRow(Base):
    """A target in maintenance: its events are kept, rules' actions on them are not run."""

    __tablename__ = "maintenance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(63), unique=True)  # a machine or a group
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(63), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class DeliveryRow(Base):
    """One action a rule ran (or will run) for one event: durable, retried with backoff,
    every attempt recorded. The unique trigger keeps one firing from running twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint(
            "event_id", "rule_name", "action_index", "trigger", name="uq_deliveries_trigger"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    rule_name: Mapped[str] = mapped_column(String(63))
    action_index: Mapped[int] = mapped_column(Integer)
    # What made the rule fire for this event: "new", or "escalated:critical" and so on.
    trigger: Mapped[str] = mapped_column(String(64), default="new")
    kind: Mapped[str] = mapped_column(String(32))  # email, webhook, syslog, reboot, ...
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # Who is carrying it out, until when: a dead manager's delivery is taken over.
    holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # every attempt
    job_id: Mapped[str | None] = mapped_column(String(64))  # reboot / power off as a job
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class MonitorStateRow(Base):
    """What the monitor last knew of one machine: its parts' health and the SEL cursor,
    so a restarted manager neither repeats old SEL lines nor misses a change."""

    __tablename__ = "monitor_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[int] = mapped_column(
        ForeignKey("machines.id", ondelete="CASCADE"), unique=True
    )
    rollup: Mapped[str] = mapped_column(String(16), default="unknown")
    components: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # id -> health
    sel_cursor: Mapped[str | None] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed polls
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class SubscriptionRow(Base):
    """kanri's event subscription on one BMC (push) and where its SSE stream left off."""

    __tablename__ = "bmc_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bmc_id: Mapped[int] = mapped_column(ForeignKey("bmcs.id", ondelete="CASCADE"), unique=True)
    mode: Mapped[str] = mapped_column(String(16), default="none")  # push, stream, none
    subscription_uri: Mapped[str | None] = mapped_column(String(512))
    # Sent as the subscription's Context: a pushed event must carry it to be believed.
    secret: Mapped[str] = mapped_column(String(128), default="")
    last_event_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
