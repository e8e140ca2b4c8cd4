"""kanri schedule: power on/off/reset at set times; kanri calendar: exception days."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_one, show_rows
from kanri.cli.prompts import confirm_removal
from kanri.domain.calendars import CalendarMode
from kanri.domain.schedules import MissedPolicy
from kanri.domain.states import PowerAction

app = typer.Typer(
    rich_markup_mode="markdown",
    help=(
        "Power schedules: on, off, force_off, restart or reset of a machine or a group, "
        "once, on weekdays or by cron, in a time zone, with calendars of exception days."
    ),
    no_args_is_help=True,
)
calendar_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Calendars of exception days (holidays) that schedules skip or keep to.",
    no_args_is_help=True,
)


def _when(s: dict[str, Any]) -> str:
    return f"{s['rule']} ({s['zone']})"


def _calendar(s: dict[str, Any]) -> str | None:
    if not s["calendar"]:
        return None
    return f"{'except' if s['calendar_mode'] == 'skip' else 'only'} {s['calendar']}"


_COLUMNS = [
    ("NAME", lambda s: s["name"]),
    ("ACTION", lambda s: s["action"]),
    ("TARGET", lambda s: s["target"] + (" (group)" if s["target_kind"] == "group" else "")),
    ("WHEN", _when),
    ("CALENDAR", _calendar),
    ("MISSED", lambda s: s["missed"]),
    ("STATE", lambda s: "enabled" if s["enabled"] else "disabled"),
]

_NEXT_COLUMNS = [
    ("SCHEDULE", lambda r: r["schedule"]),
    ("ACTION", lambda r: r["action"]),
    ("TARGET", lambda r: r["target"]),
    ("LOCAL", lambda r: _stamp(r["local"])),
    ("UTC", lambda r: _stamp(r["utc"])),
]


def _stamp(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %a %H:%M %z")


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name for the schedule")],
    action: Annotated[PowerAction, typer.Argument(help="on, off, force_off, restart, reset")],
    target: Annotated[str, typer.Argument(help="a machine or a group")],
    at: Annotated[
        str | None, typer.Option("--at", help="once, at this local time: 2026-12-24T18:00")
    ] = None,
    weekdays: Annotated[
        str | None, typer.Option("--weekdays", help="on these days: mon-fri, or sat,sun")
    ] = None,
    time: Annotated[str | None, typer.Option("--time", help="with --weekdays: HH:MM")] = None,
    cron: Annotated[
        str | None, typer.Option("--cron", help="a 5-field cron expression: '30 7 * * 1-5'")
    ] = None,
    zone: Annotated[
        str, typer.Option("--zone", "-z", help="IANA time zone: Europe/Paris, Asia/Tokyo")
    ] = "UTC",
    calendar: Annotated[
        str | None, typer.Option("--calendar", help="skip the days of this calendar")
    ] = None,
    only: Annotated[
        bool, typer.Option("--only", help="with --calendar: run on its days only")
    ] = False,
    missed: Annotated[
        MissedPolicy,
        typer.Option(help="runs missed while no manager was up: skip, or run_once at start"),
    ] = MissedPolicy.SKIP,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Add a schedule. Say when with exactly one of --at, --weekdays with --time, or
    --cron. Refused, with nothing stored, when another schedule asks another action of the
    same machine at the same minute."""
    if only and not calendar:
        raise CliError("--only needs --calendar", ExitCode.USAGE)
    body: dict[str, Any] = {
        "name": name,
        "action": action.value,
        "target": target,
        "zone": zone,
        "at": at,
        "weekdays": [weekdays] if weekdays else None,
        "time": time,
        "cron": cron,
        "calendar": calendar,
        "calendar_mode": (CalendarMode.ONLY if only else CalendarMode.SKIP).value,
        "missed": missed.value,
    }
    added = api(ctx).post("/api/v1/schedules", body)
    show_one(added, output, _COLUMNS, "added schedule")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """List the schedules."""
    schedules = api(ctx).get("/api/v1/schedules")
    show_rows(
        schedules,
        output,
        _COLUMNS,
        "no schedules yet: add one with 'kanri schedule add NAME ACTION TARGET ...'",
    )


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Show one schedule, its next runs and its latest runs."""
    client = api(ctx)
    schedule = client.get(resource_path("schedules", name))
    coming = client.get(resource_path("schedules", name, "next"), count=3)
    runs = client.get(resource_path("schedules", name, "runs"), limit=5)
    if output is Format.JSON:
        emit_json({**schedule, "next": coming, "runs": runs})
        return
    state = "enabled" if schedule["enabled"] else f"disabled: no runs until {_enable(name)}"
    fields = [
        ("name", schedule["name"]),
        ("action", schedule["action"]),
        ("target", schedule["target"] + f" ({schedule['target_kind']})"),
        ("when", _when(schedule)),
        ("calendar", _calendar(schedule) or "-"),
        ("missed", schedule["missed"]),
        ("state", state),
        ("next", ", ".join(_stamp(r["local"]) for r in coming) or "never"),
    ]
    for label, value in fields:
        out.print(f"[bold]{label:>9}[/]  {escape(str(value))}")
    for run in runs:
        job = f" job {run['job_id']}" if run["job_id"] else ""
        detail = f" ({run['detail']})" if run["detail"] else ""
        out.print(
            f"     [bold]run[/]  {escape(_stamp(run['due_at']))} {run['status']}{job}{detail}"
        )


@app.command("next")
def next_(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="one schedule; all if not given")] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000)] = 5,
    output: OutputOpt = Format.TABLE,
) -> None:
    """The coming runs, in the schedule's time zone and in UTC, soonest first."""
    client = api(ctx)
    schedules = (
        [client.get(resource_path("schedules", name))] if name else client.get("/api/v1/schedules")
    )
    rows: list[dict[str, Any]] = []
    disabled = [s["name"] for s in schedules if not s["enabled"]]
    for s in schedules:
        if not s["enabled"]:
            continue
        for run in client.get(resource_path("schedules", s["name"], "next"), count=count):
            rows.append(
                {"schedule": s["name"], "action": s["action"], "target": s["target"], **run}
            )
    rows.sort(key=lambda r: datetime.fromisoformat(r["utc"]))
    rows = rows[:count]
    note = ""
    if disabled:
        note = f"disabled: {', '.join(disabled)} ({_enable(*disabled)})"
    show_rows(rows, output, _NEXT_COLUMNS, f"no coming runs{'; ' + note if note else ''}")
    if rows and note and output is Format.TABLE:
        out.print(escape(note))


def _enable(*names: str) -> str:
    return f"'kanri schedule enable {names[0] if len(names) == 1 else 'NAME'}'"


def _change(ctx: typer.Context, name: str, body: dict[str, Any], output: Format, said: str) -> None:
    changed = api(ctx).patch(resource_path("schedules", name), body)
    show_one(changed, output, _COLUMNS, said)


@app.command("disable")
def disable(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Stop a schedule making runs, keeping it (and its history). It shows as disabled in
    list, show and next until enabled again."""
    _change(ctx, name, {"enabled": False}, output, "disabled schedule")


@app.command("enable")
def enable(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Let a disabled schedule make runs again, from now on: runs missed while it was
    disabled are **not** replayed (whatever its --missed policy). Refused, with nothing
    changed, when it would conflict with another schedule or never run."""
    _change(ctx, name, {"enabled": True}, output, "enabled schedule")


@app.command("edit")
def edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the schedule to change")],
    action: Annotated[
        PowerAction | None, typer.Option("--action", help="on, off, force_off, restart, reset")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="a machine or a group")] = None,
    at: Annotated[str | None, typer.Option("--at", help="once, at this local time")] = None,
    weekdays: Annotated[
        str | None, typer.Option("--weekdays", help="mon-fri; alone, keeps a weekdays time")
    ] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="HH:MM; alone, keeps a weekdays rule's days")
    ] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="a 5-field cron expression")] = None,
    zone: Annotated[str | None, typer.Option("--zone", "-z", help="IANA time zone")] = None,
    calendar: Annotated[str | None, typer.Option("--calendar", help="use this calendar")] = None,
    no_calendar: Annotated[bool, typer.Option("--no-calendar", help="drop the calendar")] = False,
    only: Annotated[
        bool | None,
        typer.Option("--only/--except", help="run on the calendar's days only, or skip them"),
    ] = None,
    missed: Annotated[
        MissedPolicy | None, typer.Option("--missed", help="skip, or run_once at start")
    ] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Change only the options given; they mean what they mean for add, and are checked
    the same way (a bad cron or zone, an unknown target or calendar, a conflict: refused,
    nothing changed). New times fire from now on: runs they would have made earlier are
    not replayed."""
    if calendar and no_calendar:
        raise CliError("--calendar and --no-calendar: give one", ExitCode.USAGE)
    body: dict[str, Any] = {
        k: v
        for k, v in {
            "action": action.value if action else None,
            "target": target,
            "at": at,
            "weekdays": [weekdays] if weekdays else None,
            "time": time,
            "cron": cron,
            "zone": zone,
            "calendar": calendar,
            "calendar_mode": None if only is None else ("only" if only else "skip"),
            "missed": missed.value if missed else None,
        }.items()
        if v is not None
    }
    if no_calendar:
        body["calendar"] = None
    if not body:
        raise CliError("nothing to change: give at least one option (see --help)", ExitCode.USAGE)
    _change(ctx, name, body, output, "changed schedule")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a schedule; the jobs it started are left alone."""
    confirm_removal(f"schedule {name}", yes)
    api(ctx).delete(resource_path("schedules", name))
    out.print(f"removed schedule {name}")


def _read_dates(path: Path) -> list[str]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", ExitCode.USAGE) from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not text: write one YYYY-MM-DD a line", ExitCode.USAGE) from None
    return text.splitlines()


_CALENDAR_COLUMNS = [
    ("NAME", lambda c: c["name"]),
    ("DAYS", lambda c: len(c["dates"])),
    ("FIRST", lambda c: c["dates"][0] if c["dates"] else None),
    ("LAST", lambda c: c["dates"][-1] if c["dates"] else None),
]


@calendar_app.command("add")
def calendar_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name for the calendar")],
    dates: Annotated[list[str] | None, typer.Argument(help="dates: YYYY-MM-DD ...")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="one date a line, # comments; - for stdin"),
    ] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Add a calendar of exception days, from arguments and/or a file."""
    items = list(dates or []) + (_read_dates(file) if file else [])
    added = api(ctx).post("/api/v1/calendars", {"name": name, "dates": items})
    show_one(added, output, _CALENDAR_COLUMNS, "added calendar")


@calendar_app.command("list")
def calendar_list(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """List the calendars."""
    calendars = api(ctx).get("/api/v1/calendars")
    show_rows(
        calendars,
        output,
        _CALENDAR_COLUMNS,
        "no calendars yet: add one with 'kanri calendar add NAME DATE...'",
    )


@calendar_app.command("show")
def calendar_show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Show a calendar's days."""
    calendar = api(ctx).get(resource_path("calendars", name))
    if output is Format.JSON:
        emit_json(calendar)
        return
    out.print(f"[bold]{escape(calendar['name'])}[/]: {len(calendar['dates'])} day(s)")
    for day in calendar["dates"]:
        out.print(f"  {datetime.fromisoformat(day):%Y-%m-%d %a}")


@calendar_app.command("remove")
def calendar_remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a calendar (refused while a schedule uses it)."""
    confirm_removal(f"calendar {name}", yes)
    api(ctx).delete(resource_path("calendars", name))
    out.print(f"removed calendar {name}")
