"""Entry point of the ``kanri`` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kanri import __version__
from kanri.cli import (
    event,
    group,
    job,
    lab,
    layout,
    machine,
    maintenance,
    partition,
    power,
    rule,
    schedule,
    server,
    snapshot,
    storage,
)
from kanri.cli.context import CliContext, api
from kanri.cli.demo import demo
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.output import Format, emit_json, error, out
from kanri.cli.serve import serve
from kanri.domain.errors import BmcError, Conflict, Invalid, KanriError, NotFound

app = typer.Typer(
    rich_markup_mode="markdown",
    help=(
        "kanri: manage a datacenter's servers, physical and logical alike.\n\n"
        "Start the manager with 'kanri serve'; every other command talks to its API "
        "(--url or KANRI_URL, default http://127.0.0.1:8642) with the token from "
        "KANRI_DATA_DIR/admin.token.\n\n"
        "Exit codes: 0 ok, 1 error, 2 bad usage or input, 3 not found, 4 conflict, "
        "5 BMC failed, 6 API unreachable or token refused, 7 timed out (the API or the lab "
        "did not answer in time)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(machine.app, name="machine")
app.add_typer(power.app, name="power")
app.add_typer(event.app, name="event")
app.add_typer(storage.app, name="storage")
app.add_typer(storage.volume_app, name="volume")
app.add_typer(lab.app, name="lab")
app.add_typer(job.app, name="job")
app.add_typer(group.app, name="group")
app.add_typer(schedule.app, name="schedule")
app.add_typer(schedule.calendar_app, name="calendar")
app.add_typer(rule.app, name="rule")
app.add_typer(maintenance.app, name="maintenance")
app.add_typer(server.app, name="server")
app.add_typer(layout.app, name="layout")
app.add_typer(partition.app, name="partition")
app.add_typer(snapshot.app, name="snapshot")
partition.app.command("states")(snapshot.partition_states)  # run states: cli/snapshot.py
app.command("serve")(serve)
app.command("demo")(demo)


@app.callback()
def _options(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option("--url", envvar="KANRI_URL", help="kanri API URL")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="KANRI_TOKEN", help="API token")
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="file holding the API token")
    ] = None,
) -> None:
    ctx.obj = CliContext(url=url, token=token, token_file=token_file)


@app.command()
def status(
    ctx: typer.Context,
    output: Annotated[Format, typer.Option("--output", "-o", help="table or json")] = Format.TABLE,
) -> None:
    """Is the manager up? Its version, and how its last power-state sweep went."""
    answer = api(ctx).get("/api/v1/status")
    if output is Format.JSON:
        emit_json(answer)
        return
    sweep = answer["last_sweep"]
    out.print(f"kanri {answer['version']} at {api(ctx).url}")
    if sweep is None:
        out.print("no power-state sweep finished yet")
    else:
        out.print(
            f"last sweep: {sweep['machines']} machines in {sweep['seconds']}s, "
            f"{sweep['failed']} failed, {sweep['changed']} changed"
        )


@app.command()
def version() -> None:
    """Print kanri's version."""
    typer.echo(__version__)


def main() -> None:
    # Typer reports usage errors itself (exit 2); our own errors come out of it as exceptions.
    try:
        app()
    except CliError as exc:
        if str(exc):  # empty when each failure was reported already
            error(str(exc))
        sys.exit(exc.code)
    except KanriError as exc:  # from the commands that run a manager here (serve, demo)
        error(str(exc))
        sys.exit(_code_for(exc))
    except KeyboardInterrupt:
        sys.exit(130)


def _code_for(exc: KanriError) -> ExitCode:
    if isinstance(exc, Invalid):
        return ExitCode.USAGE
    if isinstance(exc, NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, Conflict):
        return ExitCode.CONFLICT
    if isinstance(exc, BmcError):
        return ExitCode.BMC
    return ExitCode.ERROR
