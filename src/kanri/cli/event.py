"""kanri event: what kanri noticed and did."""

from __future__ import annotations

from typing import Annotated

import typer

from kanri.cli.context import api
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, table

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Events: power drift, unreachable BMCs, commands.",
    no_args_is_help=True,
)


@app.command("list")
def list_(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Option("--target", "-t", help="only this machine")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    output: OutputOpt = Format.TABLE,
) -> None:
    """List events, newest first."""
    events = api(ctx).get("/api/v1/events", target=target, limit=limit)
    if output is Format.JSON:
        emit_json(events)
        return
    table(
        events,
        [
            ("ID", lambda e: e["id"]),
            ("AT", lambda e: e["at"][:19]),
            ("SEVERITY", lambda e: e["severity"]),
            ("KIND", lambda e: e["kind"]),
            ("TARGET", lambda e: e["target"]),
            ("MESSAGE", lambda e: e["message"]),
        ],
    )
