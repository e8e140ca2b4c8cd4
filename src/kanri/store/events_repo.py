"""Fault events in the database: observations grow, clear or open events, one transaction
each, safe with several managers on one PostgreSQL (docs/events.md)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.event_growth import at_least, first_diagnostics, grow, merge_diagnostics
from kanri.domain.event_growth import severity_of as _severity_of
from kanri.domain.faults import (
    Change,
    EventState,
    FaultEvent,
    Observation,
    Severity,
    Source,
    can_move,
    grows,
)
from kanri.store.db import Database
from kanri.store.tables import EventRow, utcnow

ManagerEventHook = Callable[[FaultEvent], None]


def _severity(text: str) -> Severity:
    try:
        return _severity_of(text)
    except ValueError:  # a row written by something newer or older: show it, do not fail
        return Severity.WARNING


def to_event(row: EventRow) -> FaultEvent:
    return FaultEvent(
        id=row.id,
        key=row.key or "",
        kind=row.kind,
        severity=_severity(row.severity),
        state=EventState(row.state or EventState.OPEN),
        source=Source(row.source or Source.MANAGER),
        target=row.target,
        component=row.component or "",
        message=row.message,
        first_at=row.at,
        last_at=row.last_at or row.at,
        count=row.count or 1,
        affected=tuple(row.affected or ()),
        diagnostics=dict(row.diagnostics or {}),
        details=dict(row.details or {}),
        acked_by=row.acked_by,
        acked_at=row.acked_at,
        cleared_at=row.cleared_at,
    )


def event_row(session: Session, event_id: int, for_update: bool = False) -> EventRow:
    """The event's row; NotFound when there is none."""
    row = session.get(EventRow, event_id, with_for_update=for_update)
    if row is None:
        raise NotFound(f"no event {event_id}")
    return row


def manager_event_row(
    kind: str,
    severity: str,
    target: str | None,
    message: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> EventRow:
    """A new row for something kanri itself noticed or did: open, never grown (its key
    names no component), with no diagnostics."""
    return EventRow(
        at=now,
        last_at=now,
        key=f"{target or ''}|{kind}|",
        kind=kind,
        severity=_severity(severity).value,
        state=EventState.OPEN.value,
        source=Source.MANAGER.value,
        target=target,
        component="",
        message=message,
        count=1,
        affected=[],
        diagnostics={},
        details=details or {},
    )


def _lock_key(session: Session, key: str) -> None:
    """Serialise recorders of one key until the transaction ends. Must be the transaction's
    first statement. PostgreSQL: a transaction-scoped advisory lock on the key's hash (two
    managers that both find no open event cannot both insert one). SQLite: a write, which
    takes the database's write lock (writers queue on busy_timeout), so what is read after
    it is the latest committed state."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(key.encode()).digest()
        session.execute(
            select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
        )
        return
    session.execute(
        update(EventRow)
        .where(EventRow.key == key, EventRow.state != EventState.CLEARED.value)
        .values(count=EventRow.count)
    )


class EventsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._hooks: list[ManagerEventHook] = []
        self._hooks_lock = threading.Lock()

    # observations -------------------------------------------------------------------------

    def record(self, obs: Observation, affected: list[str]) -> tuple[FaultEvent, Change] | None:
        """Grow the open event of ``obs.key``, or open a new one; a clearing observation
        clears the open event of its key (None when there is none)."""
        with self.db.session() as session:
            _lock_key(session, obs.key)
            row = session.scalars(
                select(EventRow)
                .where(EventRow.key == obs.key, EventRow.state != EventState.CLEARED.value)
                .order_by(EventRow.id.desc())
                .limit(1)
            ).first()
            if obs.clears:
                if row is None:
                    return None
                self._clear(row, obs)
                return to_event(row), Change.CLEARED
            if row is not None and grows(row.last_at or row.at, EventState(row.state), obs.seen_at):
                change = self._grow(row, obs, affected)
                session.flush()
                return to_event(row), change
            row = self._insert(session, obs, affected)
            return to_event(row), Change.NEW

    @staticmethod
    def _clear(row: EventRow, obs: Observation) -> None:
        row.state = EventState.CLEARED.value
        row.cleared_at = obs.seen_at
        row.last_at = max(row.last_at or row.at, obs.seen_at)
        row.diagnostics = merge_diagnostics(dict(row.diagnostics or {}), obs)

    @staticmethod
    def _grow(row: EventRow, obs: Observation, affected: list[str]) -> Change:
        growth = grow(
            _severity(row.severity), dict(row.diagnostics or {}), dict(row.details or {}), obs
        )
        row.severity = growth.severity.value
        row.diagnostics = growth.diagnostics
        row.details = growth.details
        row.count = (row.count or 1) + 1
        row.last_at = max(row.last_at or row.at, obs.seen_at)
        if growth.change is Change.ESCALATED:
            row.message = obs.message
        row.affected = list(dict.fromkeys([*(row.affected or []), *affected]))
        return growth.change

    @staticmethod
    def _insert(session: Session, obs: Observation, affected: list[str]) -> EventRow:
        row = EventRow(
            at=obs.seen_at,
            last_at=obs.seen_at,
            key=obs.key,
            kind=obs.kind,
            severity=obs.severity.value,
            state=EventState.OPEN.value,
            source=obs.source.value,
            target=obs.target,
            component=obs.component,
            message=obs.message,
            count=1,
            affected=list(dict.fromkeys(affected)),
            diagnostics=first_diagnostics(obs),
            details=dict(obs.details),
        )
        session.add(row)
        session.flush()
        return row

    def add_manager_event(
        self,
        kind: str,
        severity: str,
        target: str | None,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> FaultEvent:
        """Something kanri itself noticed or did (drift, a command, a job): always a row of
        its own, never grown. Hooks (the EventService) hear of it after the commit."""
        with self.db.session() as session:
            row = manager_event_row(kind, severity, target, message, utcnow(), details)
            session.add(row)
            session.flush()
            event = to_event(row)
        with self._hooks_lock:
            hooks = list(self._hooks)
        for hook in hooks:
            hook(event)
        return event

    def on_manager_event(self, hook: ManagerEventHook) -> Callable[[], None]:
        """Call ``hook`` after each manager event is committed; returns the undo."""
        with self._hooks_lock:
            self._hooks.append(hook)

        def remove() -> None:
            with self._hooks_lock:
                if hook in self._hooks:
                    self._hooks.remove(hook)

        return remove

    # reading and acknowledging --------------------------------------------------------------

    def get(self, event_id: int) -> FaultEvent:
        with self.db.session() as session:
            return to_event(event_row(session, event_id))

    def ack(self, event_id: int, by: str) -> FaultEvent:
        """Acknowledge: an operator has seen it. Refused (Conflict) when the state table
        does not allow it: a cleared event, or one acknowledged already."""
        with self.db.session() as session:
            row = event_row(session, event_id, for_update=True)
            state = EventState(row.state)
            if not can_move(state, EventState.ACKNOWLEDGED):
                if state is EventState.ACKNOWLEDGED:
                    raise Conflict(f"event {event_id} is already acknowledged (by {row.acked_by})")
                raise Conflict(
                    f"event {event_id} is {state.value}: there is nothing to acknowledge"
                )
            row.state = EventState.ACKNOWLEDGED.value
            row.acked_by = by
            row.acked_at = utcnow()
            session.flush()
            return to_event(row)

    def list(
        self,
        severity_at_least: Severity | None = None,
        kind_prefix: str | None = None,
        target: str | None = None,
        state: EventState | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[FaultEvent]:
        """Newest first; with ``after_id``, the events after it, oldest first (a stream
        resuming where it left off)."""
        query = select(EventRow)
        if severity_at_least is not None:
            query = query.where(EventRow.severity.in_(at_least(severity_at_least)))
        if kind_prefix:
            query = query.where(EventRow.kind.startswith(kind_prefix, autoescape=True))
        if target is not None:
            query = query.where(EventRow.target == target)
        if state is not None:
            query = query.where(EventRow.state == state.value)
        if since is not None:
            query = query.where(func.coalesce(EventRow.last_at, EventRow.at) >= since)
        if after_id is not None:
            query = query.where(EventRow.id > after_id).order_by(EventRow.id)
        else:
            query = query.order_by(EventRow.id.desc())
        with self.db.session() as session:
            return [to_event(row) for row in session.scalars(query.limit(limit)).all()]

    def newest_id(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(select(func.max(EventRow.id))) or 0)
