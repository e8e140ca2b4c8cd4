"""kanri power: read and change the power of machines."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.job import exit_code
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, err, out, table
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
    ctx: typer.Context,
    targets: list[str],
    groups: list[str] | None,
    action: PowerAction,
    options: _Options,
) -> None:
    """Submit one ``power`` job (hierarchical unless --no-cascade); with --wait, follow it
    to its end (exit 0 if it succeeded, 7 if steps timed out, 1 otherwise)."""
    client = api(ctx)
    names = list(targets or [])
    for group in groups or []:
        members = client.get(resource_path("groups", group))["members"]
        names += [m for m in members if m not in names]
    names = list(dict.fromkeys(names))
    if not names:
        raise CliError("name at least one machine or a --group with members", ExitCode.USAGE)
    params: dict[str, Any] = {
        "action": action.value,
        "cascade": options.cascade,
        "wait": options.wait,
        "timeout": options.timeout,
        "graceful_timeout": options.graceful_timeout,
    }
    job = client.post("/api/v1/jobs", {"kind": "power", "targets": names, "params": params})
    plan = "; ".join(
        f"{g}: " + ", ".join(s["name"] for s in job["steps"] if s["group"] == g)
        for g in sorted({s["group"] for s in job["steps"]})
    )
    out.print(escape(f"job {job['id']}: power {action.value} ({plan})"))
    if not options.wait:
        out.print(f"job {job['id']}: {job['state']} (follow it: kanri job watch {job['id']})")
        return
    _follow(ctx, job["id"], options.timeout)


def _follow(ctx: typer.Context, job_id: int, timeout: float) -> None:
    client = api(ctx)
    path = f"/api/v1/jobs/{job_id}"
    with err.status(f"job {job_id}...") as spinner:
        while True:
            job = client.get(path)
            if job["state"] in ("succeeded", "failed", "cancelled"):
                break
            done = [s for s in job["steps"] if s["state"] in ("done", "failed", "skipped")]
            spinner.update(f"job {job_id}: {job['state']}, {len(done)}/{len(job['steps'])} steps")
            time.sleep(0.5)
    for step in job["steps"]:
        result = step["error"] or ", ".join(
            f"{k}={v}" for k, v in sorted((step["result"] or {}).items())
        )
        out.print(f"{step['target']}: {step['name']} {step['state']} ({result})")
    code = exit_code(job)
    if code is not ExitCode.OK:
        raise CliError(f"job {job_id} {job['state']}: {job['error'] or ''}".rstrip(": "), code)


@dataclass(frozen=True, slots=True)
class _Options:
    cascade: bool
    wait: bool
    timeout: float
    graceful_timeout: float


GroupOpt = Annotated[
    list[str] | None,
    typer.Option("--group", "-g", help="every member of this group too (repeatable)"),
]
NoCascadeOpt = Annotated[
    bool,
    typer.Option(
        "--no-cascade",
        help="act on the targets alone (refused when that would kill running partitions "
        "or start a partition on an off host)",
    ),
]
GracefulOpt = Annotated[
    float,
    typer.Option(
        "--graceful-timeout", min=0, help="seconds before a partition's graceful stop is forced"
    ),
]
OptTargets = Annotated[
    list[str] | None, typer.Argument(help="machine or partition names", show_default=False)
]


@app.command("on")
def on(
    ctx: typer.Context,
    targets: OptTargets = None,
    group: GroupOpt = None,
    no_cascade: NoCascadeOpt = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 300,
    graceful_timeout: GracefulOpt = 120,
) -> None:
    """Power on, as a job: an off host starts before its partitions; a host's partitions
    that should run (stopped with it by kanri) start after it."""
    _act(ctx, targets or [], group, PowerAction.ON,
         _Options(not no_cascade, wait, timeout, graceful_timeout))  # fmt: skip


@app.command("off")
def off(
    ctx: typer.Context,
    targets: OptTargets = None,
    group: GroupOpt = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="cut power now instead of asking the OS")
    ] = False,
    no_cascade: NoCascadeOpt = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 300,
    graceful_timeout: GracefulOpt = 120,
) -> None:
    """Shut down gracefully (the OS is asked), or cut power with --force, as a job: a
    host's running partitions stop first (graceful, forced after --graceful-timeout)."""
    action = PowerAction.FORCE_OFF if force else PowerAction.OFF
    _act(ctx, targets or [], group, action,
         _Options(not no_cascade, wait, timeout, graceful_timeout))  # fmt: skip


def _cycle(
    ctx: typer.Context,
    targets: list[str] | None,
    group: list[str] | None,
    force: bool,
    options: _Options,
) -> None:
    action = PowerAction.RESET if force else PowerAction.RESTART
    _act(ctx, targets or [], group, action, options)


ForceResetOpt = Annotated[
    bool, typer.Option("--force", "-f", help="hard reset instead of a graceful restart")
]


@app.command("reset")
def reset(
    ctx: typer.Context,
    targets: OptTargets = None,
    group: GroupOpt = None,
    force: ForceResetOpt = False,
    no_cascade: NoCascadeOpt = False,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 300,
    graceful_timeout: GracefulOpt = 120,
) -> None:
    """Restart gracefully, or hard-reset with --force, as a job: a host's running
    partitions stop first and start again after it. Refused when off."""
    _cycle(ctx, targets, group, force, _Options(not no_cascade, wait, timeout, graceful_timeout))


# One command, two names: operators say both.
app.command(
    "restart", help="The same as 'reset': a graceful restart, or a hard reset with --force."
)(reset)


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
