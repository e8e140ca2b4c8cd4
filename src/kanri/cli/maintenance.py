"""kanri maintenance: machines and groups whose events are kept but run no actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows
from kanri.domain.errors import Invalid
from kanri.domain.rule_parse import parse_seconds

app = typer.Typer(
    rich_markup_mode="markdown",
    help=(
        "Maintenance: a machine or group in maintenance keeps its events, but no rule "
        "runs an action for them (no e-mail, no reboot)."
    ),
    no_args_is_help=True,
)

_COLUMNS = [
    ("TARGET", lambda m: m["target"]),
    ("UNTIL", lambda m: (m["until"] or "turned off")[:19]),
    ("REASON", lambda m: m["reason"] or None),
    ("BY", lambda m: m["created_by"] or None),
    ("SINCE", lambda m: (m["created_at"] or "")[:19] or None),
]


def _until(until: str | None, for_: str | None) -> str | None:
    if until is not None and for_ is not None:
        raise CliError("give --until or --for, not both", ExitCode.USAGE)
    if for_ is not None:
        try:
            seconds = parse_seconds(for_, "--for")
        except Invalid as exc:
            raise CliError(str(exc), ExitCode.USAGE) from None
        return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    if until is None:
        return None
    try:
        at = datetime.fromisoformat(until)
    except ValueError:
        raise CliError(
            f"--until {until!r} is not an ISO 8601 time such as 2026-01-05T18:00 or "
            "2026-01-05T18:00+09:00",
            ExitCode.USAGE,
        ) from None
    return (at if at.tzinfo else at.astimezone()).isoformat()  # no zone: this machine's


@app.command("on")
def on(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="a machine or a group")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why, for the others")] = "",
    until: Annotated[
        str | None,
        typer.Option("--until", help="ISO 8601 end (no zone: this machine's local time)"),
    ] = None,
    for_: Annotated[str | None, typer.Option("--for", help="how long: 90m, 2h, 1d")] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Put a machine or group in maintenance until --until / --for, or until 'off'.
    Again on a target in maintenance: a new reason and end."""
    body: dict[str, Any] = {"target": target, "reason": reason, "until": _until(until, for_)}
    entry = api(ctx).post("/api/v1/maintenance", body)
    if output is Format.JSON:
        emit_json(entry)
        return
    ends = f" until {entry['until'][:19]}" if entry["until"] else " until turned off"
    out.print(f"{target} is in maintenance{ends}: its events run no actions", markup=False)


@app.command("off")
def off(
    ctx: typer.Context, target: Annotated[str, typer.Argument(help="a machine or group")]
) -> None:
    """Take a machine or group out of maintenance: rules act on its events again."""
    api(ctx).delete(resource_path("maintenance", target))
    out.print(f"{target} is out of maintenance", markup=False)


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """Machines and groups in maintenance now."""
    show_rows(
        api(ctx).get("/api/v1/maintenance"),
        output,
        _COLUMNS,
        "nothing is in maintenance",
    )
