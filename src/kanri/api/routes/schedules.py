"""/api/v1/schedules and /api/v1/calendars: power schedules and their exception days."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.calendars import Calendar, CalendarMode, make_calendar
from kanri.domain.naming import NAME_PATTERN
from kanri.domain.schedule_book import KEEP, ScheduleChange
from kanri.domain.schedules import (
    MissedPolicy,
    Run,
    Schedule,
    StoredSchedule,
    check_zone,
    make_rule,
)
from kanri.domain.states import PowerAction

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])
calendars = APIRouter(prefix="/api/v1/calendars", tags=["schedules"])


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN})
    action: PowerAction
    target: str = Field(min_length=1, max_length=63, description="a machine or a group")
    zone: str = Field("UTC", max_length=64, examples=["Europe/Paris"])
    at: str | None = Field(None, max_length=32, description="once: local YYYY-MM-DDTHH:MM")
    weekdays: list[str] | None = Field(None, max_length=7, examples=[["mon-fri"]])
    time: str | None = Field(None, max_length=8, description="with weekdays: HH:MM")
    cron: str | None = Field(None, max_length=200, examples=["30 7 * * mon-fri"])
    calendar: str | None = Field(None, max_length=63)
    calendar_mode: CalendarMode = CalendarMode.SKIP
    missed: MissedPolicy = MissedPolicy.SKIP


class ScheduleOut(BaseModel):
    name: str
    action: PowerAction
    target: str
    target_kind: str
    rule: str
    zone: str
    calendar: str | None
    calendar_mode: CalendarMode
    missed: MissedPolicy
    enabled: bool
    created_at: datetime
    runs_from: datetime = Field(description="runs due after this fire: made, enabled, retimed")

    @classmethod
    def of(cls, st: StoredSchedule) -> ScheduleOut:
        s = st.schedule
        return cls(
            name=s.name,
            action=s.action,
            target=s.target,
            target_kind=st.target_kind,
            rule=str(s.rule),
            zone=s.zone,
            calendar=s.calendar,
            calendar_mode=s.calendar_mode,
            missed=s.missed,
            enabled=s.enabled,
            created_at=st.created_at,
            runs_from=st.runs_from,
        )


class NextRunOut(BaseModel):
    utc: datetime
    local: datetime = Field(description="the same instant in the schedule's zone")


class RunOut(BaseModel):
    schedule: str
    due_at: datetime
    status: str
    job_id: str | None
    detail: str
    claimed_by: str

    @classmethod
    def of(cls, r: Run) -> RunOut:
        return cls(
            schedule=r.schedule,
            due_at=r.due_at,
            status=r.status.value,
            job_id=r.job_id,
            detail=r.detail,
            claimed_by=r.claimed_by,
        )


@router.post("", status_code=status.HTTP_201_CREATED)
def add_schedule(body: ScheduleIn, manager: ManagerDep, _: CallerDep) -> ScheduleOut:
    """Refused, with nothing stored, for a rule or zone that does not parse, a target or
    calendar that does not exist, or another schedule asking another action of the same
    target at the same minute (within the coming 400 days)."""
    rule = make_rule(at=body.at, weekdays=body.weekdays, time_of_day=body.time, cron=body.cron)
    schedule = Schedule(
        name=body.name,
        action=body.action,
        target=body.target,
        rule=rule,
        zone=body.zone,
        calendar=body.calendar,
        calendar_mode=body.calendar_mode,
        missed=body.missed,
    )
    added = ScheduleOut.of(manager.schedules.add(schedule))
    manager.scheduler.wake()
    return added


class ScheduleChangeIn(BaseModel):
    """Only the fields given change; ``"calendar": null`` drops the calendar."""

    model_config = ConfigDict(extra="forbid")

    action: PowerAction | None = None
    target: str | None = Field(None, min_length=1, max_length=63)
    zone: str | None = Field(None, max_length=64)
    at: str | None = Field(None, max_length=32, description="once: local YYYY-MM-DDTHH:MM")
    weekdays: list[str] | None = Field(None, min_length=1, max_length=7)
    time: str | None = Field(None, max_length=8, description="HH:MM; alone on a weekdays rule")
    cron: str | None = Field(None, max_length=200)
    calendar: str | None = Field(None, max_length=63)
    calendar_mode: CalendarMode | None = None
    missed: MissedPolicy | None = None
    enabled: bool | None = Field(
        None, description="false: no runs; true: runs due from now on (missed ones not replayed)"
    )


@router.patch("/{name}")
def change_schedule(
    name: str, body: ScheduleChangeIn, manager: ManagerDep, _: CallerDep
) -> ScheduleOut:
    """Change the given fields, checked exactly like an add; refused with nothing changed
    otherwise (422, 404, 409). New times, or enabling, fire only runs due from now on."""
    change = ScheduleChange(
        action=body.action,
        target=body.target,
        zone=body.zone,
        at=body.at,
        weekdays=tuple(body.weekdays) if body.weekdays is not None else None,
        time=body.time,
        cron=body.cron,
        calendar=body.calendar if "calendar" in body.model_fields_set else KEEP,
        calendar_mode=body.calendar_mode,
        missed=body.missed,
        enabled=body.enabled,
    )
    changed = ScheduleOut.of(manager.schedules.change(name, change))
    manager.scheduler.wake()
    return changed


@router.get("")
def list_schedules(manager: ManagerDep, _: CallerDep) -> list[ScheduleOut]:
    return [ScheduleOut.of(s) for s in manager.schedules.schedules()]


@router.get("/{name}")
def show_schedule(name: str, manager: ManagerDep, _: CallerDep) -> ScheduleOut:
    return ScheduleOut.of(manager.schedules.get(name))


@router.get("/{name}/next")
def next_runs(
    name: str,
    manager: ManagerDep,
    _: CallerDep,
    count: Annotated[int, Query(ge=1, le=1000)] = 5,
) -> list[NextRunOut]:
    """The coming runs, from now."""
    zone = check_zone(manager.schedules.get(name).schedule.zone)
    return [
        NextRunOut(utc=r, local=r.astimezone(zone)) for r in manager.schedules.next(name, count)
    ]


@router.get("/{name}/runs")
def runs(
    name: str,
    manager: ManagerDep,
    _: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunOut]:
    """Runs fired, failed or skipped, the latest first."""
    return [RunOut.of(r) for r in manager.schedules.runs(name, limit)]


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_schedule(name: str, manager: ManagerDep, _: CallerDep) -> Response:
    manager.schedules.remove(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN})
    dates: list[str] = Field(max_length=10000, examples=[["2026-12-25", "2027-01-01"]])


class CalendarOut(BaseModel):
    name: str
    dates: list[str]

    @classmethod
    def of(cls, c: Calendar) -> CalendarOut:
        return cls(name=c.name, dates=[d.isoformat() for d in sorted(c.dates)])


@calendars.post("", status_code=status.HTTP_201_CREATED)
def add_calendar(body: CalendarIn, manager: ManagerDep, _: CallerDep) -> CalendarOut:
    return CalendarOut.of(manager.schedules.add_calendar(make_calendar(body.name, body.dates)))


@calendars.get("")
def list_calendars(manager: ManagerDep, _: CallerDep) -> list[CalendarOut]:
    return [CalendarOut.of(c) for c in manager.schedules.calendars()]


@calendars.get("/{name}")
def show_calendar(name: str, manager: ManagerDep, _: CallerDep) -> CalendarOut:
    return CalendarOut.of(manager.schedules.calendar(name))


@calendars.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_calendar(name: str, manager: ManagerDep, _: CallerDep) -> Response:
    """Refused (409) while a schedule uses it."""
    manager.schedules.remove_calendar(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
