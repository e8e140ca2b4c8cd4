"""kanri event: fault events and what kanri noticed and did — list, show, ack, watch."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import find_token
from kanri.cli.context import CliContext, api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.event_show import show_event
from kanri.cli.event_watch import follow
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows
from kanri.domain.faults import EventState, Severity

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Fault events: hardware faults, power drift, unreachable BMCs, what kanri did.",
    no_args_is_help=True,
)

SeverityOpt = Annotated[
    Severity | None, typer.Option("--severity", "-s", help="this severity and worse")
]
KindOpt = Annotated[
    str | None, typer.Option("--kind", "-k", help="kinds starting with this, e.g. hw or bmc.")
]
TargetOpt = Annotated[str | None, typer.Option("--target", "-t", help="only this machine")]
EventId = Annotated[int, typer.Argument(help="the event's number", min=1)]

_SPAN = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> str:
    """``30m``, ``2h``, ``1d`` ago, or an ISO 8601 time (local time if it names no zone),
    as an ISO 8601 UTC time for the API."""
    now = now or datetime.now(UTC)
    if match := _SPAN.match(text.strip().lower()):
        when = now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        try:
            when = datetime.fromisoformat(text.strip())
        except ValueError:
            raise CliError(
                f"--since {text!r} is not a time: give 30m, 2h, 1d or an ISO 8601 time "
                "(2026-01-31T08:00)",
                ExitCode.USAGE,
            ) from None
        if when.tzinfo is None:
            when = when.astimezone()  # the local zone
    return when.astimezone(UTC).isoformat()


def _when(value: str | None) -> str | None:
    return value[:19].replace("T", " ") if value else None


def _target(e: dict[str, Any]) -> str:
    target = e["target"] or "-"
    return f"{target}/{e['component']}" if e.get("component") else target


_COLUMNS = [
    ("ID", lambda e: e["id"]),
    ("LAST", lambda e: _when(e.get("last_at") or e["at"])),
    ("SEVERITY", lambda e: e["severity"]),
    ("STATE", lambda e: e.get("state")),
    ("KIND", lambda e: e["kind"]),
    ("TARGET", _target),
    ("COUNT", lambda e: e.get("count")),
    ("MESSAGE", lambda e: e["message"]),
]


@app.command("list")
def list_(
    ctx: typer.Context,
    severity: SeverityOpt = None,
    kind: KindOpt = None,
    target: TargetOpt = None,
    state: Annotated[
        EventState | None, typer.Option("--state", help="open, acknowledged, cleared")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="active since: 30m, 2h, 1d or ISO 8601")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    output: OutputOpt = Format.TABLE,
) -> None:
    """List events, newest first."""
    events = api(ctx).get(
        "/api/v1/events",
        severity=severity.value if severity else None,
        kind=kind,
        target=target,
        state=state.value if state else None,
        since=parse_since(since) if since else None,
        limit=limit,
    )
    show_rows(events, output, _COLUMNS, "No events.")


@app.command("show")
def show(ctx: typer.Context, event_id: EventId, output: OutputOpt = Format.TABLE) -> None:
    """One event: what, where, how often, what it affects, and its diagnostics (parts'
    health over time, SEL lines, sensors); what rules did about it, when there are rules."""
    event = api(ctx).get(f"/api/v1/events/{event_id}")
    if output is Format.JSON:
        emit_json(event)
    else:
        show_event(event)


@app.command("ack")
def ack(ctx: typer.Context, event_id: EventId) -> None:
    """Acknowledge an event: you have seen it (it still grows until it clears)."""
    event = api(ctx).post(f"/api/v1/events/{event_id}/ack")
    out.print(escape(f"acknowledged event {event['id']} ({event['kind']} on {_target(event)})"))


def watch_line(e: dict[str, Any]) -> str:
    affects = f"  (affects {', '.join(e['affected'])})" if e.get("affected") else ""
    count = f" x{e['count']}" if e.get("count", 1) > 1 else ""
    return (
        f"{_when(e.get('last_at') or e['at'])}  #{e['id']}{count}  {e['change']:<12} "
        f"{e['severity']:<8} {e['kind']}  {_target(e)}  {e['message']}{affects}"
    )


@app.command("watch")
def watch(
    ctx: typer.Context,
    severity: SeverityOpt = None,
    kind: KindOpt = None,
    target: TargetOpt = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Print events as they appear, grow, clear and are acknowledged (one line each; with
    -o json one JSON document per line). Ctrl-C stops. A dropped stream is resumed."""
    client = api(ctx)
    obj = ctx.find_object(CliContext) or CliContext()
    token = find_token(obj.token, obj.token_file)
    params = {
        k: v
        for k, v in (
            ("severity", severity.value if severity else None),
            ("kind", kind),
            ("target", target),
        )
        if v is not None
    }

    def emit(e: dict[str, Any]) -> None:
        if output is Format.JSON:
            print(json.dumps(e, sort_keys=True), flush=True)
        else:
            out.print(escape(watch_line(e)))

    try:
        follow(client.url, token, params, emit)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
