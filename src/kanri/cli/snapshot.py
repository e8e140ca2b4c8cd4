"""kanri snapshot: the run states frozen when a host was lost, and their restore; and
``kanri partition states HOST`` (docs/partitions.md "Run states")."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Run states frozen when a host failed or was forced off; restore starts exactly "
    "the partitions that were running.",
    no_args_is_help=True,
)

_STATE_COLUMNS = [
    ("PARTITION", lambda s: s["partition"]),
    ("STATE", lambda s: s["state"]),
    ("CAUSE", lambda s: s["cause"]),
    ("BY", lambda s: s["by"]),
    ("AT", lambda s: _when(s["at"])),
]

_COLUMNS = [
    ("ID", lambda s: s["id"]),
    ("HOST", lambda s: s["host"]),
    ("CAUSE", lambda s: s["cause"]),
    ("AT", lambda s: _when(s["at"])),
    ("TO START", lambda s: ", ".join(s["to_start"]) or "-"),
    ("RESTORED", lambda s: _when(s["restored_at"]) or "no"),
]


def _when(value: str | None) -> str | None:
    return value.replace("T", " ")[:19] if value else None


def partition_states(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="a hypervisor machine")],
    output: OutputOpt = Format.TABLE,
) -> None:
    """Each partition's run state on HOST: why it is on or off, who made it so, when."""
    rows = api(ctx).get(resource_path("machines", host, "run-states"))
    show_rows(rows, output, _STATE_COLUMNS, f"{escape(host)} has no partitions.")


@app.command("list")
def list_snapshots(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="only this host's")] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Snapshots, newest first."""
    params: dict[str, Any] = {"host": host} if host else {}
    rows = api(ctx).get("/api/v1/snapshots", **params)
    show_rows(rows, output, _COLUMNS, "No snapshots: no host was lost with partitions running.")


@app.command("show")
def show(
    ctx: typer.Context,
    snapshot_id: Annotated[int, typer.Argument(metavar="ID")],
    output: OutputOpt = Format.TABLE,
) -> None:
    """One snapshot: each partition's run state when its host was lost."""
    s = api(ctx).get(f"/api/v1/snapshots/{snapshot_id}")
    if output is Format.JSON:
        emit_json(s)
        return
    restored = _when(s["restored_at"]) or "not yet"
    out.print(
        f"snapshot {s['id']}: {escape(s['host'])} {s['cause']} at {_when(s['at'])}; "
        f"restored: {restored}"
    )
    out.print(f"to start: {escape(', '.join(s['to_start']) or 'nothing')}")
    show_rows(s["states"], output, _STATE_COLUMNS, "No partitions were kept.")


@app.command("restore")
def restore(
    ctx: typer.Context,
    snapshot_id: Annotated[int, typer.Argument(metavar="ID")],
    onto: Annotated[
        str | None, typer.Option("--onto", help="another host with the same partitions")
    ] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Start exactly the partitions the snapshot lost and that are still lost, as one
    power job (follow it with `kanri job show`)."""
    body = {"onto": onto} if onto else {}
    answer = api(ctx).post(f"/api/v1/snapshots/{snapshot_id}/restore", body)
    if output is Format.JSON:
        emit_json(answer)
    elif answer["job"] is None:
        out.print(f"snapshot {snapshot_id} restored: nothing left to start")
    else:
        out.print(f"snapshot {snapshot_id} restored: job {answer['job']} starts the partitions")
