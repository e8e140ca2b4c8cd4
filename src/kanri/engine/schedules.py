"""Power schedules and calendars in the manager: checked before they are stored (zone,
rule, target, calendar, conflicts with other schedules), and their coming runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from kanri.domain.calendars import Calendar
from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.schedules import (
    Once,
    Run,
    Schedule,
    StoredSchedule,
    check_zone,
    clash,
    next_runs,
)
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
        action of a target at a minute another schedule acts on it."""
        now = self.clock()
        check_zone(schedule.zone)
        calendar = self.calendar_of(schedule)  # NotFound for an unknown calendar
        targets = set(self.groups.expand([schedule.target]))  # NotFound for an unknown one
        if isinstance(schedule.rule, Once) and not next_runs(schedule, calendar, now, 1):
            raise Invalid(
                f"{schedule.rule.at:%Y-%m-%d %H:%M} in {schedule.zone} is in the past"
                + (" or excluded by the calendar" if calendar else "")
                + ": the schedule would never run"
            )
        self._check_conflicts(schedule, calendar, targets, now)
        stored = self.store.add_schedule(schedule, created_at=now)
        self.repo.add_event(
            "schedule.added", "info", schedule.target,
            f"added schedule {schedule.name}: {schedule.action.value} {schedule.target} "
            f"{schedule.rule} {schedule.zone}",
        )  # fmt: skip
        return stored

    def _check_conflicts(
        self, schedule: Schedule, calendar: Calendar | None, targets: set[str], now: datetime
    ) -> None:
        for other in self.store.schedules():
            o = other.schedule
            if o.action == schedule.action or not o.enabled:
                continue
            try:
                shared = targets & set(self.groups.expand([o.target]))
            except NotFound:
                continue
            if not shared:
                continue
            at = clash(schedule, calendar, o, self.calendar_of(o), now)
            if at is not None:
                local = at.astimezone(check_zone(schedule.zone))
                raise Conflict(
                    f"schedule {o.name} does {o.action.value} on {', '.join(sorted(shared))} "
                    f"at the same minute ({local:%Y-%m-%d %H:%M} {schedule.zone}) that this "
                    f"one would {schedule.action.value} it: pick another time, or remove {o.name}"
                )

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
