"""Deliveries in the store: rule actions to carry out, claimed with a lease, every attempt
logged. Domain values in and out; each method is one transaction.

Claiming is a compare-and-set: an UPDATE whose WHERE repeats the "due" condition and the
attempt count read a moment before. Of two managers (or two workers) that read the same
row, one UPDATE matches and the other matches nothing, on SQLite and PostgreSQL alike
(PostgreSQL re-checks an UPDATE's WHERE against the row a concurrent writer committed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from kanri.domain.deliveries import DUE_STATES, Delivery, DeliveryState, Outcome
from kanri.domain.errors import NotFound
from kanri.domain.faults import FaultEvent
from kanri.domain.rules import ActionSpec
from kanri.store.db import Database
from kanri.store.events_repo import event_row, manager_event_row, to_event
from kanri.store.tables import DeliveryRow, EventRow

LOG_LIMIT = 50  # attempts kept per delivery (the first ones and the newest ones)
TEXT_LIMIT = 2000  # characters of an attempt's receipt or error kept


def _delivery(row: DeliveryRow, previous_holder: str | None = None) -> Delivery:
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        rule=row.rule_name,
        action_index=row.action_index,
        trigger=row.trigger,
        kind=row.kind,
        params=dict(row.params or {}),
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_at=row.next_at,
        holder=row.holder,
        lease_until=row.lease_until,
        last_error=row.last_error or "",
        log=tuple(row.log or ()),
        job_id=row.job_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        previous_holder=previous_holder,
    )


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _appended(log: Sequence[dict[str, Any]] | None, entry: dict[str, Any]) -> list[dict[str, Any]]:
    out = [*(log or ()), entry]
    if len(out) > LOG_LIMIT:  # keep the first attempts and the newest
        out = out[:10] + out[-(LOG_LIMIT - 10) :]
    return out


def _due(now: datetime, me: str, predecessor_prefix: str | None) -> ColumnElement[bool]:
    waiting = and_(
        DeliveryRow.state.in_([s.value for s in DUE_STATES]),
        or_(DeliveryRow.next_at.is_(None), DeliveryRow.next_at <= now),
    )
    gone = [DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until < now]
    if predecessor_prefix:
        # An earlier run on this data directory is gone at once: one manager per directory.
        gone.append(
            and_(DeliveryRow.holder.startswith(predecessor_prefix), DeliveryRow.holder != me)
        )
    orphaned = and_(DeliveryRow.state == DeliveryState.RUNNING.value, or_(*gone))
    return or_(waiting, orphaned)


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # writing ----------------------------------------------------------------------------

    def enqueue(
        self,
        event_id: int,
        rule: str,
        trigger: str,
        actions: Sequence[ActionSpec],
        now: datetime,
    ) -> list[int]:
        """One pending delivery per action; the ids, in action order. Safe to repeat: the
        unique (event, rule, action, trigger) makes a second enqueue find the first's rows
        (also when two managers enqueue the same firing at the same moment)."""
        try:
            return self._enqueue(event_id, rule, trigger, actions, now)
        except IntegrityError:  # someone else inserted them between our read and write
            return self._enqueue(event_id, rule, trigger, actions, now)

    def _enqueue(
        self,
        event_id: int,
        rule: str,
        trigger: str,
        actions: Sequence[ActionSpec],
        now: datetime,
    ) -> list[int]:
        with self.db.session() as session:
            event_row(session, event_id)  # NotFound when there is no such event
            have = dict(
                session.execute(
                    select(DeliveryRow.action_index, DeliveryRow.id).where(
                        DeliveryRow.event_id == event_id,
                        DeliveryRow.rule_name == rule,
                        DeliveryRow.trigger == trigger,
                    )
                ).all()
            )
            rows: dict[int, DeliveryRow] = {}
            for index, action in enumerate(actions):
                if index in have:
                    continue
                rows[index] = DeliveryRow(
                    event_id=event_id,
                    rule_name=rule,
                    action_index=index,
                    trigger=trigger,
                    kind=action.kind,
                    params=dict(action.params),
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    next_at=now,
                    log=[],
                    last_error="",
                    created_at=now,
                    updated_at=now,
                )
                session.add(rows[index])
            session.flush()
            return [have[i] if i in have else rows[i].id for i in range(len(actions))]

    def claim(
        self, holder: str, lease: float, now: datetime, predecessor_prefix: str | None = None
    ) -> Delivery | None:
        """Take one due delivery (pending or retrying whose time has come, or running under
        a lease that expired): it becomes running, held by ``holder`` until ``now + lease``,
        its attempt count one more. A takeover logs the lost attempt as interrupted and says
        whose it was (``previous_holder``)."""
        due = _due(now, holder, predecessor_prefix)
        for _ in range(8):  # lost races: try the next candidates
            with self.db.session() as session:
                candidates = session.execute(
                    select(DeliveryRow.id, DeliveryRow.attempts, DeliveryRow.state)
                    .where(due)
                    .order_by(DeliveryRow.next_at, DeliveryRow.id)
                    .limit(4)
                ).all()
            if not candidates:
                return None
            for delivery_id, attempts, state in candidates:
                taken = self._take(delivery_id, attempts, state, holder, lease, now, due)
                if taken is not None:
                    return taken
        return None

    def _take(
        self,
        delivery_id: int,
        attempts: int,
        state: str,
        holder: str,
        lease: float,
        now: datetime,
        due: ColumnElement[bool],
    ) -> Delivery | None:
        with self.db.session() as session:
            previous = None
            if state == DeliveryState.RUNNING.value:
                previous = session.scalar(
                    select(DeliveryRow.holder).where(DeliveryRow.id == delivery_id)
                )
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.attempts == attempts, due)
                .values(
                    state=DeliveryState.RUNNING.value,
                    holder=holder,
                    lease_until=now + timedelta(seconds=lease),
                    attempts=attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            row = session.get(DeliveryRow, delivery_id, populate_existing=True)
            assert row is not None
            if state == DeliveryState.RUNNING.value:
                entry = {
                    "attempt": attempts,
                    "at": now.isoformat(),
                    "outcome": Outcome.INTERRUPTED.value,
                    "error": f"its manager ({previous}) stopped before the attempt ended",
                    "holder": previous,
                }
                row.log = _appended(row.log, entry)
            return _delivery(row, previous_holder=previous if previous else None)

    def finish(
        self,
        delivery_id: int,
        holder: str,
        state: DeliveryState,
        entry: dict[str, Any],
        now: datetime,
        next_at: datetime | None = None,
        job_id: str | None = None,
        event: tuple[str, str, str | None, str] | None = None,
    ) -> bool:
        """End ``holder``'s attempt: the state it leaves the delivery in, the log entry, and
        (``event``: kind, severity, target, message) a manager event to say so in the same
        transaction. False when the delivery is no longer ours (taken over meanwhile)."""
        for key in ("receipt", "error"):
            if key in entry:
                entry[key] = _clip(str(entry[key]))
        with self.db.session() as session:
            row = session.scalars(
                select(DeliveryRow).where(
                    DeliveryRow.id == delivery_id,
                    DeliveryRow.holder == holder,
                    DeliveryRow.state == DeliveryState.RUNNING.value,
                )
            ).one_or_none()
            if row is None:
                return False
            row.state = state.value
            row.log = _appended(row.log, entry)
            row.next_at = next_at
            row.holder = None
            row.lease_until = None
            row.updated_at = now
            if "error" in entry:
                row.last_error = entry["error"]
            if job_id is not None:
                row.job_id = job_id
            if event is not None:
                session.add(_manager_event(*event, now=now, delivery=row))
            return True

    def renew(self, holder: str, ids: Iterable[int], lease: float, now: datetime) -> None:
        """Extend ``holder``'s leases on the deliveries it is carrying out."""
        wanted = list(ids)
        if not wanted:
            return
        with self.db.session() as session:
            session.execute(
                update(DeliveryRow)
                .where(
                    DeliveryRow.id.in_(wanted),
                    DeliveryRow.holder == holder,
                    DeliveryRow.state == DeliveryState.RUNNING.value,
                )
                .values(lease_until=now + timedelta(seconds=lease))
                .execution_options(synchronize_session=False)
            )

    def record_failure(self, kind: str, target: str | None, message: str, now: datetime) -> None:
        """A manager event about the reactions themselves (say, an enqueue that failed).

        Written here, not through the EventService, on purpose: it fires no rule, so a
        failing reaction cannot feed itself."""
        with self.db.session() as session:
            session.add(_manager_event(kind, "warning", target, message, now=now))

    # reading ----------------------------------------------------------------------------

    def get(self, delivery_id: int) -> Delivery:
        with self.db.session() as session:
            row = session.get(DeliveryRow, delivery_id)
            if row is None:
                raise NotFound(f"no delivery {delivery_id}")
            return _delivery(row)

    def for_event(self, event_id: int) -> list[Delivery]:
        """The event's deliveries, oldest first; NotFound when there is no such event."""
        with self.db.session() as session:
            event_row(session, event_id)  # NotFound when there is no such event
            rows = session.scalars(
                select(DeliveryRow).where(DeliveryRow.event_id == event_id).order_by(DeliveryRow.id)
            )
            return [_delivery(r) for r in rows]

    def event(self, event_id: int) -> FaultEvent:
        with self.db.session() as session:
            return to_event(event_row(session, event_id))

    def list(self, state: DeliveryState | None = None, limit: int = 100) -> list[Delivery]:
        """Newest first."""
        with self.db.session() as session:
            query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
            if state is not None:
                query = query.where(DeliveryRow.state == state.value)
            return [_delivery(r) for r in session.scalars(query)]


def _manager_event(
    kind: str,
    severity: str,
    target: str | None,
    message: str,
    now: datetime,
    delivery: DeliveryRow | None = None,
) -> EventRow:
    details: dict[str, Any] = {}
    if delivery is not None:
        details = {
            "delivery": delivery.id,
            "event": delivery.event_id,
            "rule": delivery.rule_name,
            "action": delivery.kind,
        }
    return manager_event_row(kind, severity, target, message, now, details)
