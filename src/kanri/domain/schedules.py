"""Power schedules: when they run, computed in the schedule's own time zone.

A schedule's rule names wall-clock times in its IANA zone: once at a date and time, on
weekdays at a time, or by a cron expression. :func:`iter_runs` turns them into instants
(UTC), day by day in the zone, so that daylight saving time is handled once, here:

- a wall time that does not exist (the hour skipped when clocks go forward, e.g. 02:30
  on a 02:00→03:00 day) runs at the first minute after the gap (03:00 local); several
  such times fold into that one run;
- a wall time that exists twice (the hour repeated when clocks go back) runs at its
  first occurrence only, so a fall-back day never runs a time twice.

A calendar's days are dates in the schedule's zone. Runs missed while no manager was up
are decided by :func:`plan_due` with the schedule's :class:`MissedPolicy`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kanri.domain.calendars import Calendar, CalendarMode
from kanri.domain.cron import Cron, parse_cron
from kanri.domain.errors import Invalid
from kanri.domain.naming import check_name
from kanri.domain.states import PowerAction

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# How far ahead runs are looked for: long enough for "29 Feb" (8 years between leap days
# in a century like 2100).
HORIZON_DAYS = 366 * 9


class MissedPolicy(StrEnum):
    SKIP = "skip"  # runs missed while no manager was up are dropped
    RUN_ONCE = "run_once"  # the latest missed run is done once at start; the rest dropped


class RunStatus(StrEnum):
    CLAIMED = "claimed"  # a manager took the run and is submitting its job
    SUBMITTED = "submitted"  # its job was submitted
    FAILED = "failed"  # the job could not be submitted (e.g. the target is gone)
    SKIPPED = "skipped"  # missed while no manager was up, and the policy is skip


# A run's status moves only along these edges.
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.CLAIMED: frozenset({RunStatus.SUBMITTED, RunStatus.FAILED}),
    RunStatus.SUBMITTED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.SKIPPED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Once:
    at: datetime  # naive: a wall-clock time in the schedule's zone

    def times_on(self, day: date) -> list[time]:
        return [self.at.time()] if day == self.at.date() else []

    def __str__(self) -> str:
        return f"once {self.at.isoformat(timespec='minutes')}"


@dataclass(frozen=True, slots=True)
class Weekly:
    days: frozenset[int]  # 0 = Monday
    at: time

    def times_on(self, day: date) -> list[time]:
        return [self.at] if day.weekday() in self.days else []

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"weekly {days} {self.at.strftime('%H:%M')}"


@dataclass(frozen=True, slots=True)
class CronRule:
    cron: Cron

    def times_on(self, day: date) -> list[time]:
        return self.cron.times_on(day)

    def __str__(self) -> str:
        return f"cron {self.cron.expr}"


Rule = Once | Weekly | CronRule


def _time(text: str) -> time:
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text!r} is not a time of day: write HH:MM, e.g. 07:30") from None
    return parsed.replace(second=0, microsecond=0)


def _weekdays(items: list[str]) -> frozenset[int]:
    days: set[int] = set()
    for item in items:
        for part in item.lower().replace(" ", "").split(","):
            first, dash, last = part.partition("-")
            if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
                raise Invalid(f"{part!r} is not a weekday: use mon, tue, ... sun, or mon-fri")
            a, b = WEEKDAYS.index(first), WEEKDAYS.index(last if dash else first)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    if not days:
        raise Invalid("no weekdays given: name at least one (mon, tue, ... sun, or mon-fri)")
    return frozenset(days)


def make_rule(
    at: str | None = None,
    weekdays: list[str] | None = None,
    time_of_day: str | None = None,
    cron: str | None = None,
) -> Rule:
    """Exactly one of: ``at`` (a local date and time), ``weekdays`` with ``time_of_day``,
    or ``cron``."""
    given = [n for n, v in (("at", at), ("weekdays", weekdays), ("cron", cron)) if v]
    if len(given) != 1:
        raise Invalid("say when, once: a date and time (at), weekdays and a time, or a cron")
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise Invalid(
                f"{at!r} is not a date and time: write YYYY-MM-DDTHH:MM, e.g. 2026-12-24T18:00"
            ) from None
        if when.tzinfo is not None:
            raise Invalid(f"{at!r}: give the time without an offset; the zone says where")
        return Once(when.replace(second=0, microsecond=0))
    if weekdays:
        if not time_of_day:
            raise Invalid("weekdays need a time of day (HH:MM)")
        return Weekly(_weekdays(weekdays), _time(time_of_day))
    assert cron is not None
    return CronRule(parse_cron(cron))


def parse_rule(text: str) -> Rule:
    """The stored form (``str(rule)``) back to a rule."""
    kind, _, rest = text.partition(" ")
    if kind == "once":
        return make_rule(at=rest)
    if kind == "weekly":
        days, _, at = rest.rpartition(" ")
        return make_rule(weekdays=[days], time_of_day=at)
    if kind == "cron":
        return make_rule(cron=rest)
    raise Invalid(f"unknown schedule rule {text!r}")


def check_zone(name: str) -> ZoneInfo:
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris, Asia/Tokyo or UTC"
        ) from None


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    action: PowerAction
    target: str  # a machine or a group
    rule: Rule
    zone: str
    calendar: str | None = None
    calendar_mode: CalendarMode = CalendarMode.SKIP
    missed: MissedPolicy = MissedPolicy.SKIP
    enabled: bool = True

    def __post_init__(self) -> None:
        check_name(self.name)
        check_zone(self.zone)


def resolve(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of wall time ``at`` on ``day`` in ``zone``: the first occurrence
    of a repeated time, the end of the gap for a skipped one."""
    local = datetime.combine(day, at, tzinfo=zone)  # fold=0: the first occurrence
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # In a gap: fold=0 read it with the offset from before the change, which lands past
    # the gap's end. Walk back to the first minute after the gap.
    step = timedelta(minutes=1)
    while (instant - step).astimezone(zone).replace(tzinfo=None) > local.replace(tzinfo=None):
        instant -= step
    return instant


def iter_runs(schedule: Schedule, calendar: Calendar | None, after: datetime) -> Iterator[datetime]:
    """The schedule's runs strictly after ``after`` (aware), in order, in UTC."""
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    zone = check_zone(schedule.zone)
    day = after.astimezone(zone).date() - timedelta(days=1)
    last = after
    for _ in range(HORIZON_DAYS):
        day += timedelta(days=1)
        if isinstance(schedule.rule, Once) and day > schedule.rule.at.date():
            return
        if calendar is not None and not calendar.allows(day, schedule.calendar_mode):
            continue
        for at in schedule.rule.times_on(day):
            instant = resolve(day, at, zone)
            if instant > last:
                last = instant
                yield instant


def next_runs(
    schedule: Schedule, calendar: Calendar | None, after: datetime, count: int
) -> list[datetime]:
    """The next ``count`` runs after ``after``, in UTC (fewer if the rule has no more)."""
    out: list[datetime] = []
    if count <= 0:
        return out
    for run in iter_runs(schedule, calendar, after):
        out.append(run)
        if len(out) >= count:
            break
    return out


def runs_between(
    schedule: Schedule, calendar: Calendar | None, after: datetime, until: datetime, limit: int
) -> list[datetime]:
    """Runs in (after, until], at most the last ``limit`` of them."""
    out: list[datetime] = []
    for run in iter_runs(schedule, calendar, after):
        if run > until:
            break
        out.append(run)
        if len(out) > limit:
            del out[0]
    return out


@dataclass(frozen=True, slots=True)
class DuePlan:
    fire: list[datetime]  # submit a job for each
    skipped: datetime | None  # the latest run dropped, recorded so it is not looked at again
    missed: int  # how many runs were missed


def plan_due(due: list[datetime], now: datetime, grace: timedelta, policy: MissedPolicy) -> DuePlan:
    """What to do with runs that fell due (ascending): a run less than ``grace`` late is on
    time and fires; older ones were missed and follow ``policy`` (``run_once``: the latest
    missed run fires, once; ``skip``: none)."""
    on_time = [d for d in due if now - d <= grace]
    missed = [d for d in due if now - d > grace]
    if not missed:
        return DuePlan(on_time, None, 0)
    if policy is MissedPolicy.RUN_ONCE:
        return DuePlan([missed[-1], *on_time], None, len(missed))
    return DuePlan(on_time, missed[-1], len(missed))


def clash(
    a: Schedule,
    cal_a: Calendar | None,
    b: Schedule,
    cal_b: Calendar | None,
    after: datetime,
    days: int = 400,
    limit: int = 20000,
) -> datetime | None:
    """The first minute within ``days`` at which both schedules run, if any."""
    until = after + timedelta(days=days)
    runs_a: set[datetime] = set()
    for run in iter_runs(a, cal_a, after):
        if run > until or len(runs_a) >= limit:
            break
        runs_a.add(run.replace(second=0, microsecond=0))
    for count, run in enumerate(iter_runs(b, cal_b, after)):
        if run > until or count >= limit:
            break
        if run.replace(second=0, microsecond=0) in runs_a:
            return run
    return None


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    """A schedule as the store keeps it."""

    id: int
    schedule: Schedule
    target_kind: str  # "machine" or "group"
    created_at: datetime
    runs_from: datetime  # runs due after this fire: made, last enabled or given new times


@dataclass(frozen=True, slots=True)
class Run:
    """A run of a schedule that a manager claimed (or recorded as skipped)."""

    schedule: str
    due_at: datetime
    status: RunStatus
    job_id: str | None
    detail: str
    claimed_by: str
