"""The schedules' write lock, and the book a schedule is checked against under it.

Every transaction that adds or changes a schedule, or claims a run, first updates the one
row of ``schedule_lock``. On PostgreSQL the update holds the row until commit, so the next
writer waits; on SQLite the update is the transaction's first statement and takes the
database's write lock (writers queue on ``busy_timeout``), and what the transaction reads
after it is the latest committed state. Either way, what a schedule is checked against
cannot change before it is stored.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kanri.domain.calendars import Calendar
from kanri.domain.groups import Group
from kanri.domain.schedule_book import ScheduleBook
from kanri.domain.schedules import StoredSchedule
from kanri.store.tables import (
    CalendarRow,
    GroupMemberRow,
    GroupRow,
    MachineRow,
    ScheduleLockRow,
)

LOCK_ID = 1


def lock_schedules(session: Session) -> None:
    """Take the schedules' write lock for the rest of ``session``'s transaction. Must be
    the transaction's first statement (SQLite: a read before it would pin an older
    snapshot)."""
    bump = (
        update(ScheduleLockRow)
        .where(ScheduleLockRow.id == LOCK_ID)
        .values(version=ScheduleLockRow.version + 1)
    )
    if session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
        # A database made without the migrations (which insert the row): make it. Two
        # writers racing here collide on the primary key; the loser's write is refused.
        session.add(ScheduleLockRow(id=LOCK_ID, version=1))
        session.flush()


def read_book(session: Session, schedules: tuple[StoredSchedule, ...]) -> ScheduleBook:
    """Machines, groups and calendars as ``session`` sees them, with ``schedules``."""
    machines = frozenset(session.scalars(select(MachineRow.name)).all())
    members: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        select(GroupRow.name, MachineRow.name)
        .join(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
        .join(MachineRow, MachineRow.id == GroupMemberRow.machine_id)
    ).all()
    for group, machine in rows:
        members[group].append(machine)
    groups = {
        name: Group(name, tuple(sorted(members.get(name, []))))
        for name in session.scalars(select(GroupRow.name)).all()
    }
    calendars = {
        row.name: Calendar(row.name, frozenset(date.fromisoformat(d) for d in row.dates))
        for row in session.scalars(select(CalendarRow)).all()
    }
    return ScheduleBook(schedules, machines, groups, calendars)
