"""kanri lab: run the simulated datacenter, look inside it, and break it on purpose.

``kanri lab serve`` runs the lab in this process; every other ``kanri lab`` command talks
to a running lab's control API over HTTP (--lab or KANRI_LAB_URL).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from kanri.cli.errors import CliError, ExitCode
from kanri.cli.lab_client import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    LabClient,
    LabPasswordOpt,
    LabUrlOpt,
    LabUserOpt,
)
from kanri.cli.lab_faults import clear, faults, inject_app, show_faults
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, err, out, table
from kanri.cli.runner import check_listen, restrict_new_files

app = typer.Typer(
    rich_markup_mode="markdown",
    no_args_is_help=True,
    help=(
        "The lab: a simulated blade enclosure (machines, partitions, a SAN) that speaks "
        "Redfish, for the demo and the tests.\n\n"
        "Start one with 'kanri lab serve'; the other commands talk to it (--lab or "
        "KANRI_LAB_URL, default http://127.0.0.1:8001; --lab-user/--lab-password, default "
        "admin/password).\n\n"
        "Examples:\n\n"
        "```\n"
        "kanri lab serve --scale 10\n"
        "kanri lab status\n"
        "kanri lab inject component blade-03 cpu\n"
        "kanri lab violations || echo 'split brain!'\n"
        "kanri lab clear\n"
        "```"
    ),
)
app.add_typer(inject_app, name="inject")
app.command("clear")(clear)
app.command("faults")(faults)

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "kanri-lab"
# The fastest lab time allowed: a real year is then a thousand lab years, and lab dates
# stay within the calendar (year 9999).
MAX_SCALE = 1000.0


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on", min=1, max=65535)] = 8001,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="a lab.yaml (default: the demo's 10-machine enclosure)"),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="where the lab keeps its state and volumes")
    ] = DEFAULT_DATA_DIR,
    scale: Annotated[
        float | None,
        typer.Option(
            help="lab seconds per real second: 10 makes a 10 s boot take 1 s",
            min=0.01,
            max=MAX_SCALE,
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="forget the saved state; start as configured")
    ] = False,
) -> None:
    """Run a lab in the foreground until Ctrl-C.

    It prints its URL and credentials. Its state (power, modes, partitions, volumes and
    their contents, hardware faults, event subscriptions) is saved in the data directory:
    started again on the same directory, it comes back as it was, unless --fresh.
    """
    restrict_new_files()  # event subscriptions may hold their listeners' tokens
    from kanri.lab import layouts
    from kanri.lab.config import LabConfig, LabConfigError
    from kanri.lab.persist import STATE_FILE
    from kanri.lab.server import LabServer, LabServerError

    try:
        lab_config = LabConfig.load(config) if config else layouts.load("demo")
    except LabConfigError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    if scale is not None:
        lab_config.scale = scale
    check_listen(host, port, "lab", "--port")
    saved = data_dir / STATE_FILE
    if fresh:
        try:
            saved.unlink(missing_ok=True)
        except OSError as exc:
            raise CliError(
                f"cannot forget the saved lab state {saved}: {exc.strerror or exc}",
                ExitCode.ERROR,
            ) from None
    resumed = saved.exists()
    server = LabServer(lab_config, data_dir, host=host, port=port)
    try:
        server.start()
    except LabConfigError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    except (LabServerError, OSError) as exc:
        raise CliError(f"the lab did not start: {exc}", ExitCode.ERROR) from None
    try:
        assert server.lab is not None
        with server.lab.lock:
            machines, partitions = len(server.lab.machines), len(server.lab.partitions)
        print(f"kanri lab at {server.url}  (Redfish {server.url}/redfish/v1, control /lab/v1)")
        print(f"credentials: {lab_config.username} / {lab_config.password}")
        print(
            f"{machines} machines, {partitions} partitions, time x{lab_config.scale:g}; "
            f"{'resumed from' if resumed else 'state in'} {data_dir}",
            flush=True,
        )
        err.print("Ctrl-C stops it.")
        _wait_for_stop()
    finally:
        server.stop()
    err.print(f"lab stopped; its state is in {data_dir}")


def _wait_for_stop() -> None:
    """Until Ctrl-C or SIGTERM: either way the lab stops cleanly and saves its state."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@app.command()
def status(
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Every machine and partition (power, OS and boot volume, health, mode), the faults
    in effect and the invariant violations found so far."""
    client = LabClient(lab, lab_user, lab_password)
    state = client.get("/state")
    if output is Format.JSON:
        emit_json(state)
        return
    clock = state["clock"]
    out.print(f"lab {client.url}  time x{clock['scale']:g}, {clock['now']:.0f} lab s")
    table(
        state["systems"],
        [
            ("SYSTEM", lambda s: s["id"]),
            ("KIND", lambda s: s["kind"] if not s["host"] else f"partition of {s['host']}"),
            ("POWER", lambda s: s["power"].lower() + (" (no AC)" if s["unpowered"] else "")),
            ("BOOT", lambda s: s["boot"]),
            ("VOLUME", lambda s: s["booted_volume"]),
            ("HEALTH", lambda s: s["health"].lower()),
            ("MODE", _mode),
        ],
    )
    show_faults(state["faults"])
    count = state["violations"]
    out.print(f"violations: {count}" + (" (see 'kanri lab violations')" if count else ""))


def _mode(system: dict[str, Any]) -> str | None:
    if system["mode"] is None:
        return None
    pending = system["pending_mode"]
    return str(system["mode"]) + (f" -> {pending}" if pending else "")


@app.command()
def violations(
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Safety invariants the lab saw broken (one volume running two systems, a system
    running from a volume not mapped to it). Exits 1 when there is any, 0 when none."""
    answer = LabClient(lab, lab_user, lab_password).get("/violations")
    found = answer["violations"]
    if output is Format.JSON:
        emit_json(answer)
    elif not found:
        out.print("no violations")
    else:
        table(
            found,
            [
                ("AT", lambda v: v["wall"]),
                ("RULE", lambda v: v["rule"]),
                ("VOLUME", lambda v: v["volume"]),
                ("SYSTEMS", lambda v: ", ".join(v["systems"])),
                ("DETAIL", lambda v: v["detail"]),
            ],
        )
    if found:
        raise CliError("", ExitCode.ERROR)  # reported above; the exit code says it


@app.command()
def history(
    since: Annotated[int, typer.Option(help="only records after this sequence number", min=0)] = 0,
    kind: Annotated[
        str | None, typer.Option(help="only kinds starting with this, e.g. fault. or power.")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many records", min=1)] = 1000,
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """What happened in the lab, in order: commands, power, boots, SAN changes, faults,
    events dropped. Pass the last SEQ as --since to see only what came after."""
    answer = LabClient(lab, lab_user, lab_password).get(
        "/history", since=since, kind=kind, limit=limit
    )
    if output is Format.JSON:
        emit_json(answer)
        return
    table(
        answer["records"],
        [
            ("SEQ", lambda r: r["seq"]),
            ("LAB S", lambda r: f"{r['at']:.1f}"),
            ("KIND", lambda r: r["kind"]),
            ("DATA", lambda r: " ".join(f"{k}={v}" for k, v in r["data"].items())),
        ],
    )
