"""Groups, calendars, schedules and their runs. Returns domain values, never rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanri.domain.calendars import Calendar, CalendarMode
from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.groups import Group, check_members
from kanri.domain.naming import check_name
from kanri.domain.schedule_book import ScheduleBook, timing_changed
from kanri.domain.schedules import (
    RUN_TRANSITIONS,
    MissedPolicy,
    Run,
    RunStatus,
    Schedule,
    StoredSchedule,
    parse_rule,
)
from kanri.domain.states import PowerAction
from kanri.store.db import Database
from kanri.store.schedule_lock import lock_schedules, read_book
from kanri.store.tables import (
    CalendarRow,
    GroupMemberRow,
    GroupRow,
    MachineRow,
    ScheduleRow,
    ScheduleRunRow,
)


def _names(items: list[str]) -> str:
    return ", ".join(sorted(items))


class SchedulesRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # groups -----------------------------------------------------------------------------

    @staticmethod
    def _group_row(session: Session, name: str) -> GroupRow:
        row = session.scalars(select(GroupRow).where(GroupRow.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no group named {name!r}")
        return row

    @staticmethod
    def _machine_ids(session: Session, names: tuple[str, ...]) -> dict[str, int]:
        rows = session.execute(
            select(MachineRow.name, MachineRow.id).where(MachineRow.name.in_(names))
        ).all()
        found = {name: machine_id for name, machine_id in rows}
        missing = [n for n in names if n not in found]
        if missing:
            raise NotFound(f"no machine named {_names(missing)}: nothing changed")
        return found

    @staticmethod
    def _group(session: Session, row: GroupRow) -> Group:
        members = session.scalars(
            select(MachineRow.name)
            .join(GroupMemberRow, GroupMemberRow.machine_id == MachineRow.id)
            .where(GroupMemberRow.group_id == row.id)
            .order_by(MachineRow.name)
        ).all()
        return Group(row.name, tuple(members))

    def add_group(self, name: str, members: list[str]) -> Group:
        check_name(name)
        wanted = check_members(members)
        with self.db.session() as session:
            if session.scalars(select(MachineRow.id).where(MachineRow.name == name)).first():
                raise Conflict(f"{name!r} is a machine's name; a group needs a name of its own")
            if session.scalars(select(GroupRow.id).where(GroupRow.name == name)).first():
                raise Conflict(f"a group named {name!r} already exists")
            ids = self._machine_ids(session, wanted)
            row = GroupRow(name=name)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(f"a group named {name!r} was added at the same time") from None
            session.add_all(GroupMemberRow(group_id=row.id, machine_id=i) for i in ids.values())
            session.flush()
            return Group(name, wanted)

    def change_members(self, name: str, add: list[str], remove: list[str]) -> Group:
        """Add and drop members in one transaction; an unknown machine to add changes
        nothing. Dropping a machine that is not a member is not an error."""
        adding, dropping = check_members(add), check_members(remove)
        with self.db.session() as session:
            row = self._group_row(session, name)
            current = set(self._group(session, row).members)
            new = tuple(n for n in adding if n not in current)
            for machine_id in self._machine_ids(session, new).values():
                session.add(GroupMemberRow(group_id=row.id, machine_id=machine_id))
            if dropping:
                ids = select(MachineRow.id).where(MachineRow.name.in_(dropping))
                session.execute(
                    delete(GroupMemberRow).where(
                        GroupMemberRow.group_id == row.id, GroupMemberRow.machine_id.in_(ids)
                    )
                )
            try:
                session.flush()
            except IntegrityError:  # a concurrent change added the same member
                raise Conflict(f"group {name} was changed at the same time; retry") from None
            return self._group(session, row)

    def groups(self) -> list[Group]:
        with self.db.session() as session:
            rows = session.scalars(select(GroupRow).order_by(GroupRow.name)).all()
            return [self._group(session, r) for r in rows]

    def get_group(self, name: str) -> Group:
        with self.db.session() as session:
            return self._group(session, self._group_row(session, name))

    def remove_group(self, name: str) -> None:
        """Refused while schedules use the group (they are named)."""
        with self.db.session() as session:
            row = self._group_row(session, name)
            users = session.scalars(
                select(ScheduleRow.name).where(ScheduleRow.group_id == row.id)
            ).all()
            if users:
                raise Conflict(f"group {name} is used by schedule(s) {_names(list(users))}")
            session.delete(row)

    def machine_names(self) -> set[str]:
        with self.db.session() as session:
            return set(session.scalars(select(MachineRow.name)).all())

    # calendars --------------------------------------------------------------------------

    @staticmethod
    def _calendar_row(session: Session, name: str) -> CalendarRow:
        row = session.scalars(select(CalendarRow).where(CalendarRow.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no calendar named {name!r}")
        return row

    @staticmethod
    def _calendar(row: CalendarRow) -> Calendar:
        return Calendar(row.name, frozenset(date.fromisoformat(d) for d in row.dates))

    def add_calendar(self, calendar: Calendar) -> Calendar:
        check_name(calendar.name)
        with self.db.session() as session:
            if session.scalars(
                select(CalendarRow.id).where(CalendarRow.name == calendar.name)
            ).first():
                raise Conflict(f"a calendar named {calendar.name!r} already exists")
            session.add(
                CalendarRow(
                    name=calendar.name, dates=[d.isoformat() for d in sorted(calendar.dates)]
                )
            )
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    f"a calendar named {calendar.name!r} was added at the same time"
                ) from None
            return calendar

    def calendars(self) -> list[Calendar]:
        with self.db.session() as session:
            rows = session.scalars(select(CalendarRow).order_by(CalendarRow.name)).all()
            return [self._calendar(r) for r in rows]

    def get_calendar(self, name: str) -> Calendar:
        with self.db.session() as session:
            return self._calendar(self._calendar_row(session, name))

    def remove_calendar(self, name: str) -> None:
        """Refused while schedules use the calendar (they are named)."""
        with self.db.session() as session:
            row = self._calendar_row(session, name)
            users = session.scalars(
                select(ScheduleRow.name).where(ScheduleRow.calendar_id == row.id)
            ).all()
            if users:
                raise Conflict(f"calendar {name} is used by schedule(s) {_names(list(users))}")
            session.delete(row)

    # schedules --------------------------------------------------------------------------

    def _stored(self, session: Session, row: ScheduleRow) -> StoredSchedule:
        if row.machine_id is not None:
            kind = "machine"
            target = session.scalars(
                select(MachineRow.name).where(MachineRow.id == row.machine_id)
            ).one()
        else:
            kind = "group"
            target = session.scalars(select(GroupRow.name).where(GroupRow.id == row.group_id)).one()
        calendar = (
            session.scalars(select(CalendarRow.name).where(CalendarRow.id == row.calendar_id)).one()
            if row.calendar_id is not None
            else None
        )
        schedule = Schedule(
            name=row.name,
            action=PowerAction(row.action),
            target=target,
            rule=parse_rule(row.rule),
            zone=row.zone,
            calendar=calendar,
            calendar_mode=CalendarMode(row.calendar_mode),
            missed=MissedPolicy(row.missed),
            enabled=row.enabled,
        )
        return StoredSchedule(row.id, schedule, kind, row.created_at, row.runs_from)

    def _book(self, session: Session) -> ScheduleBook:
        rows = session.scalars(select(ScheduleRow).order_by(ScheduleRow.name)).all()
        return read_book(session, tuple(self._stored(session, r) for r in rows))

    def _write(self, session: Session, row: ScheduleRow, schedule: Schedule) -> None:
        """Copy ``schedule`` into ``row``: its target (a machine, else a group) and its
        calendar must exist."""
        machine_id = session.scalars(
            select(MachineRow.id).where(MachineRow.name == schedule.target)
        ).first()
        group_id = None
        if machine_id is None:
            group_id = session.scalars(
                select(GroupRow.id).where(GroupRow.name == schedule.target)
            ).first()
            if group_id is None:
                raise NotFound(f"no machine or group named {schedule.target!r}")
        row.machine_id, row.group_id = machine_id, group_id
        row.calendar_id = None
        if schedule.calendar is not None:
            row.calendar_id = self._calendar_row(session, schedule.calendar).id
        row.action = schedule.action.value
        row.rule = str(schedule.rule)
        row.zone = schedule.zone
        row.calendar_mode = schedule.calendar_mode.value
        row.missed = schedule.missed.value
        row.enabled = schedule.enabled

    def add_schedule(
        self,
        schedule: Schedule,
        created_at: datetime,
        check: Callable[[ScheduleBook], None] | None = None,
    ) -> StoredSchedule:
        """Store ``schedule``: its target (a machine, else a group) and its calendar must
        exist. ``check`` (the engine's conflict check) runs under the schedules' write lock
        on what is stored at that moment, so a conflicting schedule added at the same time
        is seen by one of the two."""
        with self.db.session() as session:
            lock_schedules(session)
            if session.scalars(
                select(ScheduleRow.id).where(ScheduleRow.name == schedule.name)
            ).first():
                raise Conflict(f"a schedule named {schedule.name!r} already exists")
            if check is not None:
                check(self._book(session))
            row = ScheduleRow(name=schedule.name, created_at=created_at, runs_from=created_at)
            self._write(session, row, schedule)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise Conflict(
                    f"a schedule named {schedule.name!r} was added at the same time"
                ) from None
            return self._stored(session, row)

    def change_schedule(
        self,
        name: str,
        change: Callable[[StoredSchedule, ScheduleBook], Schedule],
        at: datetime,
    ) -> tuple[StoredSchedule, StoredSchedule]:
        """Replace schedule ``name`` by what ``change`` makes of it (and checks), under the
        schedules' write lock; (before, after). When its times change or it is enabled,
        only runs due after ``at`` will fire."""
        with self.db.session() as session:
            lock_schedules(session)
            row = session.scalars(select(ScheduleRow).where(ScheduleRow.name == name)).one_or_none()
            if row is None:
                raise NotFound(f"no schedule named {name!r}")
            before = self._stored(session, row)
            schedule = change(before, self._book(session))
            if schedule.name != name:
                raise Invalid("a schedule keeps its name: add a new one and remove this one")
            self._write(session, row, schedule)
            if timing_changed(before.schedule, schedule):
                row.runs_from = max(at, row.runs_from)
            session.flush()
            return before, self._stored(session, row)

    def schedules(self) -> list[StoredSchedule]:
        with self.db.session() as session:
            rows = session.scalars(select(ScheduleRow).order_by(ScheduleRow.name)).all()
            return [self._stored(session, r) for r in rows]

    def get_schedule(self, name: str) -> StoredSchedule:
        with self.db.session() as session:
            row = session.scalars(select(ScheduleRow).where(ScheduleRow.name == name)).one_or_none()
            if row is None:
                raise NotFound(f"no schedule named {name!r}")
            return self._stored(session, row)

    def remove_schedule(self, name: str) -> None:
        with self.db.session() as session:
            row = session.scalars(select(ScheduleRow).where(ScheduleRow.name == name)).one_or_none()
            if row is None:
                raise NotFound(f"no schedule named {name!r}")
            session.delete(row)

    # runs -------------------------------------------------------------------------------

    def last_due(self, schedule_id: int) -> datetime | None:
        """The latest due time of a run recorded for the schedule, whatever its status."""
        with self.db.session() as session:
            return session.scalars(
                select(func.max(ScheduleRunRow.due_at)).where(
                    ScheduleRunRow.schedule_id == schedule_id
                )
            ).one()

    def claim_run(
        self, schedule_id: int, due_at: datetime, status: RunStatus, owner: str, detail: str = ""
    ) -> int | None:
        """Record the run; the id, or None if it was recorded already (by this manager or
        another one sharing the database), or the schedule is gone, disabled or was given
        new times after ``due_at``: then it is not this caller's to fire. Under the
        schedules' write lock, so a run is never claimed once a disable or edit returned."""
        try:
            with self.db.session() as session:
                lock_schedules(session)
                current = session.execute(
                    select(ScheduleRow.enabled, ScheduleRow.runs_from).where(
                        ScheduleRow.id == schedule_id
                    )
                ).one_or_none()
                if current is None or not current.enabled or due_at < current.runs_from:
                    return None
                row = ScheduleRunRow(
                    schedule_id=schedule_id,
                    due_at=due_at,
                    status=status.value,
                    claimed_by=owner,
                    detail=detail,
                )
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return None

    def finish_run(
        self, run_id: int, status: RunStatus, job_id: str | None = None, detail: str = ""
    ) -> None:
        with self.db.session() as session:
            row = session.get(ScheduleRunRow, run_id)
            if row is None:  # its schedule was removed meanwhile
                return
            if status not in RUN_TRANSITIONS[RunStatus(row.status)]:
                raise Invalid(f"a run cannot go from {row.status} to {status.value}")
            row.status = status.value
            row.job_id = job_id
            if detail:
                row.detail = detail

    def runs(self, schedule: str | None = None, limit: int = 50) -> list[Run]:
        with self.db.session() as session:
            query = (
                select(ScheduleRunRow, ScheduleRow.name)
                .join(ScheduleRow, ScheduleRow.id == ScheduleRunRow.schedule_id)
                .order_by(ScheduleRunRow.due_at.desc(), ScheduleRunRow.id.desc())
                .limit(limit)
            )
            if schedule is not None:
                query = query.where(ScheduleRow.name == schedule)
            return [
                Run(name, r.due_at, RunStatus(r.status), r.job_id, r.detail, r.claimed_by)
                for r, name in session.execute(query).all()
            ]
