"""Power schedules and calendars in the manager: checked as they are stored (zone, rule,
target, calendar, conflicts with other schedules, under the store's schedule lock), changed
(edit, enable, disable) the same way, and their coming runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from kanri.domain.calendars import Calendar
from kanri.domain.errors import Invalid
from kanri.domain.schedule_book import (
    ScheduleBook,
    ScheduleChange,
    apply_change,
    check_schedule,
    differences,
)
from kanri.domain.schedules import Run, Schedule, StoredSchedule, check_zone, next_runs
from kanri.engine.groups import GroupService
from kanri.store.repo import Repository
from kanri.store.schedules_repo import SchedulesRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class JobSubmitter(Protocol):
    """What a due run is handed to: the durable job engine (``JobService``)."""

    def submit(self, kind: str, targets: list[str], params: dict[str, Any]) -> object: ...


class ScheduleService:
    def __init__(
        self,
        store: SchedulesRepository,
        groups: GroupService,
        repo: Repository,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.groups = groups
        self.repo = repo
        self.clock = clock

    # calendars --------------------------------------------------------------------------

    def add_calendar(self, calendar: Calendar) -> Calendar:
        added = self.store.add_calendar(calendar)
        self.repo.add_event(
            "calendar.added", "info", None, f"added calendar {calendar.name}",
            {"days": len(calendar.dates)},
        )  # fmt: skip
        return added

    def calendars(self) -> list[Calendar]:
        return self.store.calendars()

    def calendar(self, name: str) -> Calendar:
        return self.store.get_calendar(name)

    def remove_calendar(self, name: str) -> None:
        """Refused while a schedule uses it."""
        self.store.remove_calendar(name)
        self.repo.add_event("calendar.removed", "info", None, f"removed calendar {name}")

    # schedules --------------------------------------------------------------------------

    def calendar_of(self, schedule: Schedule) -> Calendar | None:
        return self.store.get_calendar(schedule.calendar) if schedule.calendar else None

    def add(self, schedule: Schedule) -> StoredSchedule:
        """Store ``schedule`` once everything it names exists and it does not ask another
        action of a target at a minute another schedule acts on it. The check runs in the
        transaction that stores it, under the schedules' write lock."""
        now = self.clock()
        check_zone(schedule.zone)

        def check(book: ScheduleBook) -> None:
            check_schedule(schedule, book, now)

        stored = self.store.add_schedule(schedule, created_at=now, check=check)
        self.repo.add_event(
            "schedule.added", "info", schedule.target,
            f"added schedule {schedule.name}: {schedule.action.value} {schedule.target} "
            f"{schedule.rule} {schedule.zone}",
        )  # fmt: skip
        return stored

    def change(self, name: str, change: ScheduleChange) -> StoredSchedule:
        """Change only the given fields, checked exactly like :meth:`add` (an enabled result
        against the other enabled schedules); nothing changes when a check fails. New times,
        or enabling a disabled schedule, fire only runs due from now on: runs missed while
        it was disabled are not replayed."""
        now = self.clock()

        def decide(current: StoredSchedule, book: ScheduleBook) -> Schedule:
            changed = apply_change(current.schedule, change)
            check_schedule(changed, book, now, own_id=current.id)
            return changed

        before, after = self.store.change_schedule(name, decide, now)
        changes = differences(before.schedule, after.schedule)
        if changes and all(c.startswith("enabled:") for c in changes):
            verb = "enabled" if after.schedule.enabled else "disabled"
            self.repo.add_event(
                f"schedule.{verb}", "info", after.schedule.target, f"{verb} schedule {name}"
            )
        elif changes:
            self.repo.add_event(
                "schedule.changed", "info", after.schedule.target,
                f"changed schedule {name}: {'; '.join(changes)}", {"changes": changes},
            )  # fmt: skip
        return after

    def enable(self, name: str) -> StoredSchedule:
        return self.change(name, ScheduleChange(enabled=True))

    def disable(self, name: str) -> StoredSchedule:
        return self.change(name, ScheduleChange(enabled=False))

    def schedules(self) -> list[StoredSchedule]:
        return self.store.schedules()

    def get(self, name: str) -> StoredSchedule:
        return self.store.get_schedule(name)

    def remove(self, name: str) -> None:
        self.store.remove_schedule(name)
        self.repo.add_event("schedule.removed", "info", None, f"removed schedule {name}")

    def next(self, name: str, count: int = 5, after: datetime | None = None) -> list[datetime]:
        if not 1 <= count <= 1000:
            raise Invalid("count must be 1-1000")
        stored = self.get(name)
        if not stored.schedule.enabled:
            return []
        calendar = self.calendar_of(stored.schedule)
        return next_runs(stored.schedule, calendar, after or self.clock(), count)

    def runs(self, name: str | None = None, limit: int = 50) -> list[Run]:
        if name is not None:
            self.get(name)  # NotFound for an unknown schedule
        return self.store.runs(name, limit)
