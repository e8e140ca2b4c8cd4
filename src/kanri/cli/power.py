"""kanri power: read and change the power of machines."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, err, error, out, table
from kanri.domain.states import BootTarget, PowerAction

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Power control: status, on, off, reset, boot device.",
    no_args_is_help=True,
)

Targets = Annotated[list[str], typer.Argument(help="one or more machine names")]
WaitOpt = Annotated[
    bool, typer.Option("--wait", "-w", help="wait until the BMC reports the target state")
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="seconds to wait with --wait")]


@app.command("status")
def status(
    ctx: typer.Context,
    targets: Targets,
    cached: Annotated[
        bool, typer.Option("--cached", help="as last synced, without asking the BMC")
    ] = False,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Read power states from the BMCs now."""
    client = api(ctx)
    rows = [
        client.get(resource_path("machines", t, "power"), cached=cached or None) for t in targets
    ]
    if output is Format.JSON:
        emit_json(rows)
        return
    table(
        rows,
        [
            ("NAME", lambda r: r["machine"]),
            ("POWER", lambda r: r["power"] if r["reachable"] else "unreachable"),
            ("DESIRED", lambda r: r["desired"]),
        ],
    )


def _act(
    ctx: typer.Context, targets: list[str], action: PowerAction, wait: bool, timeout: float
) -> None:
    client = api(ctx)
    failures: list[CliError] = []
    waiting: dict[str, str] = {}
    for target in targets:
        try:
            result = client.post(
                resource_path("machines", target, "power"), {"action": action.value}
            )
        except CliError as exc:
            error(f"{target}: {exc}")
            failures.append(exc)
            continue
        verb = "sent" if result["sent"] else "nothing to do"
        out.print(f"{target}: {action.value} ({verb}; was {result['previous']})")
        waiting[target] = result["target"]
    if wait and waiting:
        _wait(ctx, waiting, timeout)
    if failures:
        summary = f"{len(failures)} of {len(targets)} failed" if len(targets) > 1 else ""
        raise CliError(summary, max(f.code for f in failures))


def _wait(ctx: typer.Context, waiting: dict[str, str], timeout: float) -> None:
    client = api(ctx)
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    with err.status("waiting for the BMCs...") as spinner:
        while waiting:
            for target, want in list(waiting.items()):
                reading = client.get(resource_path("machines", target, "power"))
                last[target] = reading["power"]
                if reading["power"] == want:
                    out.print(f"{target}: {want}")
                    del waiting[target]
            if not waiting:
                return
            if time.monotonic() > deadline:
                late = ", ".join(f"{t} is {last.get(t)} (want {w})" for t, w in waiting.items())
                raise CliError(f"timed out after {timeout:g}s: {late}", ExitCode.TIMEOUT)
            spinner.update(
                "waiting: " + ", ".join(f"{t} {last.get(t)} → {w}" for t, w in waiting.items())
            )
            time.sleep(1.0)


@app.command("on")
def on(
    ctx: typer.Context, targets: Targets, wait: WaitOpt = False, timeout: TimeoutOpt = 300
) -> None:
    """Power machines on."""
    _act(ctx, targets, PowerAction.ON, wait, timeout)


@app.command("off")
def off(
    ctx: typer.Context,
    targets: Targets,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="cut power now instead of asking the OS")
    ] = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 300,
) -> None:
    """Shut machines down gracefully (the OS is asked), or cut power with --force."""
    _act(ctx, targets, PowerAction.FORCE_OFF if force else PowerAction.OFF, wait, timeout)


@app.command("reset")
def reset(
    ctx: typer.Context,
    targets: Targets,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="hard reset instead of a graceful restart")
    ] = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 300,
) -> None:
    """Restart machines gracefully, or hard-reset them with --force. Refused when off."""
    _act(ctx, targets, PowerAction.RESET if force else PowerAction.RESTART, wait, timeout)


@app.command("boot")
def boot(
    ctx: typer.Context,
    targets: Targets,
    device: Annotated[
        BootTarget,
        typer.Option("--device", "-d", help="where to boot from; none clears the override"),
    ],
    persistent: Annotated[
        bool, typer.Option("--persistent", help="every boot until cleared, not just the next")
    ] = False,
) -> None:
    """Set the boot source override (the next boot only, unless --persistent)."""
    client = api(ctx)
    for target in targets:
        client.request(
            "PUT",
            resource_path("machines", target, "power", "boot"),
            json={"target": device.value, "once": not persistent},
        )
        scope = "every boot" if persistent else "next boot"
        out.print(f"{target}: boot from {device.value} ({scope})")
