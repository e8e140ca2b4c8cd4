"""Checking a schedule against everything it names and every other schedule, and editing one.

The store reads a :class:`ScheduleBook` (schedules, machines, groups, calendars) while it
holds the schedules' write lock, and hands it to :func:`check_schedule` before it stores a
new or changed schedule: the check and the write are one serialised step, so two
conflicting schedules added at once cannot both be stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from kanri.domain.calendars import Calendar, CalendarMode
from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.groups import Group, expand
from kanri.domain.schedules import (
    WEEKDAYS,
    MissedPolicy,
    Once,
    Rule,
    Schedule,
    StoredSchedule,
    Weekly,
    check_zone,
    clash,
    make_rule,
    next_runs,
)
from kanri.domain.states import PowerAction


class Keep(Enum):
    """A field of a change that was not given: the schedule keeps what it has."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class ScheduleBook:
    """What a schedule is checked against, read in the transaction that stores it."""

    schedules: tuple[StoredSchedule, ...]
    machines: frozenset[str]
    groups: Mapping[str, Group]
    calendars: Mapping[str, Calendar]

    def calendar(self, name: str | None) -> Calendar | None:
        if name is None:
            return None
        try:
            return self.calendars[name]
        except KeyError:
            raise NotFound(f"no calendar named {name!r}") from None

    def expand(self, names: Iterable[str]) -> list[str]:
        """Targets to machine names, as ``GroupService.expand``: NotFound for an unknown one,
        and a machine's name wins over a group's."""
        names = list(names)
        unknown = [n for n in names if n not in self.machines and n not in self.groups]
        if unknown:
            raise NotFound(f"no machine or group named {', '.join(sorted(set(unknown)))}")
        groups = {k: v for k, v in self.groups.items() if k not in self.machines}
        return expand(names, groups)


def check_schedule(
    schedule: Schedule, book: ScheduleBook, now: datetime, own_id: int | None = None
) -> None:
    """Refuse ``schedule`` if its calendar or target does not exist or, when it is enabled,
    if it would never run or would ask another action of a machine at a minute another
    enabled schedule (not ``own_id``, the one being edited) acts on it."""
    check_zone(schedule.zone)
    calendar = book.calendar(schedule.calendar)
    targets = set(book.expand([schedule.target]))
    if not schedule.enabled:
        return
    if isinstance(schedule.rule, Once) and not next_runs(schedule, calendar, now, 1):
        raise Invalid(
            f"{schedule.rule.at:%Y-%m-%d %H:%M} in {schedule.zone} is in the past"
            + (" or excluded by the calendar" if calendar else "")
            + ": the schedule would never run"
        )
    for other in book.schedules:
        o = other.schedule
        if other.id == own_id or o.action == schedule.action or not o.enabled:
            continue
        try:
            shared = targets & set(book.expand([o.target]))
        except NotFound:
            continue
        if not shared:
            continue
        at = clash(schedule, calendar, o, book.calendar(o.calendar), now)
        if at is not None:
            local = at.astimezone(check_zone(schedule.zone))
            raise Conflict(
                f"schedule {o.name} does {o.action.value} on {', '.join(sorted(shared))} "
                f"at the same minute ({local:%Y-%m-%d %H:%M} {schedule.zone}) that this "
                f"one would {schedule.action.value} it: pick another time, or remove {o.name}"
            )


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    """The fields to change; None (KEEP for the calendar, where None drops it) keeps one.

    The rule: ``at``, ``cron`` or ``weekdays`` with ``time`` replace it, as in add; on a
    weekdays schedule ``weekdays`` alone or ``time`` alone changes just that part.
    """

    action: PowerAction | None = None
    target: str | None = None
    zone: str | None = None
    at: str | None = None
    weekdays: tuple[str, ...] | None = None
    time: str | None = None
    cron: str | None = None
    calendar: str | Keep | None = KEEP
    calendar_mode: CalendarMode | None = None
    missed: MissedPolicy | None = None
    enabled: bool | None = None

    def is_empty(self) -> bool:
        return self == ScheduleChange()


def _weekly_days(rule: Weekly) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(rule.days))


def _rule(current: Rule, c: ScheduleChange) -> Rule:
    if not (c.at or c.weekdays or c.time or c.cron):
        return current
    weekdays = list(c.weekdays) if c.weekdays else None
    if isinstance(current, Weekly) and not (c.at or c.cron):
        return make_rule(
            weekdays=weekdays or [_weekly_days(current)],
            time_of_day=c.time or current.at.strftime("%H:%M"),
        )
    if c.time and not (c.at or c.weekdays or c.cron):
        raise Invalid(
            f"a time alone changes a weekdays schedule; this one runs {current}: "
            "give weekdays with the time, or at, or cron"
        )
    return make_rule(at=c.at, weekdays=weekdays, time_of_day=c.time, cron=c.cron)


def apply_change(current: Schedule, change: ScheduleChange) -> Schedule:
    """``current`` with the change's fields; Invalid for a rule, zone or calendar mode that
    does not hold (what exists and conflicts are :func:`check_schedule`'s)."""
    if change.is_empty():
        raise Invalid(
            "nothing to change: give at least one of action, target, zone, at, weekdays, "
            "time, cron, calendar, calendar_mode, missed, enabled"
        )
    calendar = current.calendar if change.calendar is KEEP else change.calendar
    mode = change.calendar_mode or current.calendar_mode
    if calendar is None:
        if change.calendar_mode is CalendarMode.ONLY:
            raise Invalid("calendar mode 'only' needs a calendar")
        mode = CalendarMode.SKIP
    return replace(
        current,
        action=change.action or current.action,
        target=change.target or current.target,
        rule=_rule(current.rule, change),
        zone=change.zone or current.zone,
        calendar=calendar,
        calendar_mode=mode,
        missed=change.missed or current.missed,
        enabled=current.enabled if change.enabled is None else change.enabled,
    )


def timing_changed(before: Schedule, after: Schedule) -> bool:
    """Whether ``after`` runs at other times than ``before``, or was just enabled: then only
    runs due from now on fire (none missed while disabled, none the old times missed)."""
    when = (str(before.rule), before.zone, before.calendar, before.calendar_mode)
    return when != (str(after.rule), after.zone, after.calendar, after.calendar_mode) or (
        after.enabled and not before.enabled
    )


def differences(before: Schedule, after: Schedule) -> list[str]:
    """What changed, one ``field: old -> new`` each, for events."""

    def show(s: Schedule) -> dict[str, str]:
        return {
            "action": s.action.value,
            "target": s.target,
            "rule": str(s.rule),
            "zone": s.zone,
            "calendar": f"{s.calendar_mode.value} {s.calendar}" if s.calendar else "none",
            "missed": s.missed.value,
            "enabled": "yes" if s.enabled else "no",
        }

    a, b = show(before), show(after)
    return [f"{k}: {a[k]} -> {b[k]}" for k in a if a[k] != b[k]]
