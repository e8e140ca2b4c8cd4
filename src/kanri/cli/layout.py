"""kanri layout: partition layouts kept in the configuration database, versioned; export,
import, diff, history, and apply to another machine (docs/partitions.md "Layouts")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli import job as job_cli
from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Partition layouts: a host's partitions, servers and run states, versioned.",
    no_args_is_help=True,
)

_LIST_COLUMNS = [
    ("NAME", lambda r: r["name"]),
    ("VERSION", lambda r: r["version"]),
    ("MACHINE", lambda r: r["host"]),
    ("UPDATED", lambda r: r["updated_at"]),
]
_HISTORY_COLUMNS = [
    ("VERSION", lambda r: r["version"]),
    ("WHEN", lambda r: r["created_at"]),
    ("BY", lambda r: r["created_by"] or None),
    ("REASON", lambda r: r["reason"] or None),
]


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """List the stored layouts."""
    show_rows(
        api(ctx).get("/api/v1/layouts"),
        output,
        _LIST_COLUMNS,
        "no layouts yet: one is kept for every hypervisor whose partitions change",
    )


@app.command("export")
def export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a layout, or a machine (its live layout)")],
    version: Annotated[int | None, typer.Option("--version", min=1, help="that version")] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the YAML to this file")
    ] = None,
) -> None:
    """Print a layout as YAML (version 1; docs/partitions.md), or write it to a file."""
    shown = api(ctx).get(resource_path("layouts", name), version=version)
    text = shown["yaml"]
    if output_file is None:
        typer.echo(text, nl=False)
        return
    try:
        output_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output_file}: {exc.strerror or exc}") from None
    out.print(escape(f"layout {name} version {shown['version']} written to {output_file}"))


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="a layout YAML file; - for stdin")],
    name: Annotated[str, typer.Option("--name", "-n", help="the layout to add a version to")],
) -> None:
    """Keep a layout file as the newest version of layout NAME (it is not applied). The
    file is read strictly: an unknown key or a wrong type is refused with its path."""
    try:
        text = typer.get_text_stream("stdin").read() if str(file) == "-" else file.read_text()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror or exc}", ExitCode.USAGE) from None
    source = "stdin" if str(file) == "-" else file.name
    stored = api(ctx).post("/api/v1/layouts/import", {"name": name, "yaml": text, "source": source})
    out.print(escape(f"layout {name}: version {stored['version']} ({stored['reason']})"))


@app.command("diff")
def diff(
    ctx: typer.Context,
    name: str,
    from_: Annotated[int | None, typer.Option("--from", min=1, help="the older version")] = None,
    to: Annotated[int | None, typer.Option("--to", min=1, help="the newer version")] = None,
    live: Annotated[
        bool, typer.Option("--live", help="the layout (--from, or the newest) against its machine")
    ] = False,
    output: OutputOpt = Format.TABLE,
) -> None:
    """What changed between two versions, or between a version and its machine now."""
    if live == (to is not None) or (not live and from_ is None):
        raise CliError("give --from N --to M, or --live [--from N]", ExitCode.USAGE)
    params: dict[str, Any] = {"from": from_, "to": to, "live": "true" if live else None}
    result = api(ctx).get(resource_path("layouts", name, "diff"), **params)
    if output is Format.JSON:
        emit_json(result)
        return
    head = f"layout {name}: {result['base']} -> {result['against']}"
    if not result["changes"]:
        out.print(escape(f"{head}: no changes"))
        return
    out.print(escape(head))
    for line in result["changes"]:
        out.print(escape(f"  {line}"))


@app.command("history")
def history(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Every version of a layout, oldest first, with who made it and why."""
    show_rows(
        api(ctx).get(resource_path("layouts", name, "history")),
        output,
        _HISTORY_COLUMNS,
        f"layout {name} has no versions",
    )


@app.command("apply")
def apply(
    ctx: typer.Context,
    name: str,
    to: Annotated[str, typer.Option("--to", help="the hypervisor machine to carve it on")],
    version: Annotated[int | None, typer.Option("--version", min=1, help="that version")] = None,
    restore_states: Annotated[
        bool,
        typer.Option(
            "--restore-states",
            help="start the partitions the layout has running (never one an operator stopped)",
        ),
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="follow the job to its end")] = False,
) -> None:
    """Create the layout's partitions on another machine, place its servers, and with
    --restore-states start what was running, as a job. Refused, with nothing changed, for
    a machine not in hypervisor mode or one the layout does not fit."""
    body = {"to": to, "restore_states": restore_states, "version": version}
    job = api(ctx).post(resource_path("layouts", name, "apply"), body)
    steps = ", ".join(s["name"] for s in job["steps"])
    out.print(escape(f"job {job['id']}: apply layout {name} to {to} ({steps})"))
    if not wait:
        out.print(f"job {job['id']}: {job['state']} (follow it: kanri job watch {job['id']})")
        return
    job_cli.watch(ctx, job["id"], interval=0.5, output=Format.TABLE)
