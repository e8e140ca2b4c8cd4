"""Fault management: rules, maintenance, deliveries, the monitor's memory."""

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
from sqlalchemy.orm import Mapped, mapped_column

from kanri.store.tables.base import Base, UtcDateTime, utcnow


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
