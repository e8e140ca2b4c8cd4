"""kanri serve: the manager (API and power-state sync loop) in the foreground."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kanri.cli import logs
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.output import err
from kanri.cli.runner import check_listen, prepare_data, restrict_new_files, run_server
from kanri.settings import DEFAULT_PORT, Settings


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="data directory [env KANRI_DATA_DIR; ~/.local/share/kanri]"),
]


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    sync_interval: Annotated[
        float, typer.Option(help="seconds between power-state sweeps", min=0.5)
    ] = 10.0,
    workers: Annotated[int, typer.Option(help="driver calls in flight at once", min=1)] = 32,
    monitor_interval: Annotated[
        float, typer.Option(help="seconds between two health/SEL polls of one BMC", min=0.5)
    ] = 30.0,
    push_url: Annotated[
        str | None,
        typer.Option(
            help="this manager's URL as the BMCs reach it (e.g. http://10.0.0.5:8642): "
            "BMCs then push their events here [env KANRI_PUSH_URL]; without it, BMCs that "
            "offer an SSE stream are read that way, and polling covers the rest",
            envvar="KANRI_PUSH_URL",
        ),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(help="how much to log")] = LogLevel.INFO,
    bmc_timeout: Annotated[
        float,
        typer.Option(help="seconds a BMC has to answer a request before it failed", min=0.5),
    ] = 30.0,
) -> None:
    """Run the manager: the REST API, the power-state sync loop, the monitor (health, SEL,
    pushed events), schedules, jobs and rules' actions. Ctrl-C stops it.

    The database is SQLite in the data directory unless KANRI_DATABASE_URL names another
    (postgresql+psycopg://...). At first start an admin API token is written to
    DATA_DIR/admin.token (owner-only); the CLI reads it from there.
    """
    restrict_new_files()  # first: the data directory holds secrets (see there)
    import uvicorn

    from kanri.api.app import create_app
    from kanri.drivers.base import DriverOptions
    from kanri.engine.intake import IntakeOptions
    from kanri.engine.manager import Manager, ManagerOptions
    from kanri.engine.monitor import MonitorOptions
    from kanri.engine.sync import SyncOptions

    # Everything that can be checked is, before a Manager migrates, connects and syncs.
    check_listen(host, port, "kanri API", "--port")
    settings = Settings.from_env(data_dir)
    prepare_data(settings)
    logs.configure(log_level)
    if push_url is not None and not push_url.startswith(("http://", "https://")):
        raise CliError(f"--push-url must be an http(s) URL, not {push_url!r}", ExitCode.USAGE)
    options = ManagerOptions(
        workers=workers,
        drivers=DriverOptions(read_timeout=bmc_timeout),
        sync=SyncOptions(interval=sync_interval),
        monitor=MonitorOptions(interval=monitor_interval),
        intake=IntakeOptions(push_url=push_url),
    )
    manager = Manager(settings, options)
    shown = f"[{host}]" if ":" in host else host
    err.print(escape(f"kanri API on http://{shown}:{port}  (token: {settings.token_file})"))
    config = uvicorn.Config(
        create_app(manager), host=host, port=port, log_level=log_level.value, access_log=False
    )
    run_server(uvicorn.Server(config))
