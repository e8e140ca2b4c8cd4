"""kanri lab inject / clear / faults: break the simulated lab on purpose, and mend it."""

from __future__ import annotations

from enum import StrEnum
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
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, table

ENCLOSURE_NAMES = {"*", "enclosure", "all"}

inject_app = typer.Typer(
    rich_markup_mode="markdown",
    no_args_is_help=True,
    help=(
        "Inject a fault into a running lab (see 'kanri lab clear' to end it).\n\n"
        "Examples:\n\n"
        "```\n"
        "kanri lab inject component blade-03 cpu --id CPU2\n"
        "kanri lab inject power-loss blade-03 --with-bmc\n"
        "kanri lab inject bmc blade-03 slow --seconds 5\n"
        "kanri lab inject bmc '*' unavailable    # the whole enclosure manager\n"
        "kanri lab inject sessions-exhausted\n"
        "kanri lab inject drop-events --count 3\n"
        "kanri lab inject storage-path app-1\n"
        "```"
    ),
)


class Component(StrEnum):
    CPU = "cpu"
    DIMM = "dimm"
    PSU = "psu"
    FAN = "fan"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


class BmcMode(StrEnum):
    SILENT = "silent"
    SLOW = "slow"
    UNAVAILABLE = "unavailable"


class Kind(StrEnum):
    COMPONENT = "component"
    POWER_LOSS = "power-loss"
    BMC = "bmc"
    SESSIONS_EXHAUSTED = "sessions-exhausted"
    DROP_EVENTS = "drop-events"
    STORAGE_PATH = "storage-path"


TargetArg = Annotated[str, typer.Argument(help="machine id, e.g. blade-03", show_default=False)]


def describe(fault: dict[str, Any]) -> str:
    """One fault in words, e.g. "component blade-03 CPU1 critical"."""
    kind, target = fault["kind"], fault.get("target") or "-"
    if kind == "component":
        return f"component {target} {fault['id']} {fault['severity']}"
    if kind == "power-loss":
        return f"power-loss {target}" + (" with its BMC" if fault.get("with_bmc") else "")
    if kind == "bmc":
        seconds = f" {fault['seconds']:g}s" if "seconds" in fault else ""
        return f"bmc {target} {fault['mode']}{seconds}"
    if kind == "drop-events":
        return f"drop-events {fault['count']}"
    if kind == "storage-path":
        return f"storage-path {target} ({', '.join(fault.get('identities', []))})"
    return f"{kind} {target}"


def _inject(
    body: dict[str, Any], lab: str | None, user: str, password: str, output: Format
) -> None:
    answer = LabClient(lab, user, password).post("/faults", body)
    if output is Format.JSON:
        emit_json(answer)
        return
    out.print(f"injected: {describe(answer['injected'])}")


@inject_app.command("component")
def component(
    target: TargetArg,
    kind: Annotated[Component, typer.Argument(help="which part fails", show_default=False)],
    component_id: Annotated[
        str | None,
        typer.Option("--id", help="CPU1-2, DIMM1-8, PSU1-2, Fan1-4 (default: the first)"),
    ] = None,
    severity: Annotated[Severity, typer.Option(help="health it reports")] = Severity.CRITICAL,
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """A CPU, DIMM, power supply or fan goes Critical (or Warning): the machine's health
    follows, its SEL gets an entry and an Alert event goes out."""
    body: dict[str, Any] = {"kind": "component", "target": target, "component": str(kind)}
    body["severity"] = str(severity)
    if component_id:
        body["id"] = component_id
    _inject(body, lab, lab_user, lab_password, output)


@inject_app.command("power-loss")
def power_loss(
    target: TargetArg,
    with_bmc: Annotated[
        bool, typer.Option("--with-bmc", help="its BMC dies too and stops answering")
    ] = False,
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """The machine loses input power: off at once, its partitions with it, and it cannot
    be started until 'kanri lab clear TARGET' restores power (it then stays off)."""
    body = {"kind": "power-loss", "target": target, "with_bmc": with_bmc}
    _inject(body, lab, lab_user, lab_password, output)


@inject_app.command("bmc")
def bmc(
    target: Annotated[
        str, typer.Argument(help="machine id, or '*' for the enclosure manager", show_default=False)
    ],
    mode: Annotated[BmcMode, typer.Argument(help="how it misbehaves", show_default=False)],
    seconds: Annotated[
        float | None, typer.Option(help="extra lab seconds per answer (slow only)", min=0.001)
    ] = None,
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """A BMC goes silent (never answers), slow, or unavailable (503) — one machine's, or
    the enclosure manager's for every machine ('*')."""
    body: dict[str, Any] = {"kind": "bmc", "target": _target(target), "mode": str(mode)}
    if seconds is not None:
        body["seconds"] = seconds
    _inject(body, lab, lab_user, lab_password, output)


@inject_app.command("sessions-exhausted")
def sessions_exhausted(
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """The enclosure manager's session table is full: every new login fails (open
    sessions go on working)."""
    _inject({"kind": "sessions-exhausted"}, lab, lab_user, lab_password, output)


@inject_app.command("drop-events")
def drop_events(
    count: Annotated[int | None, typer.Option(help="drop this many events", min=1)] = None,
    every: Annotated[bool, typer.Option("--all", help="drop every event until cleared")] = False,
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """The event service loses events: the next --count N, or --all until cleared."""
    if count is not None and every:
        raise CliError("give --count N or --all, not both", ExitCode.USAGE)
    body: dict[str, Any] = {"kind": "drop-events"}
    if count is not None:
        body["count"] = count
    else:
        body["all"] = True
    _inject(body, lab, lab_user, lab_password, output)


@inject_app.command("storage-path")
def storage_path(
    target: Annotated[str, typer.Argument(help="machine or partition id", show_default=False)],
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """The SAN paths of the system's identities go down: a running OS on it halts, and it
    finds no boot volume until cleared."""
    _inject({"kind": "storage-path", "target": target}, lab, lab_user, lab_password, output)


def _target(text: str) -> str:
    return "*" if text.lower() in ENCLOSURE_NAMES else text


def clear(
    target: Annotated[
        str | None,
        typer.Argument(
            help="machine or partition id, or '*' for the enclosure manager's faults "
            "(default: every fault)",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[Kind | None, typer.Option(help="only faults of this kind")] = None,
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """End injected faults: all of them, one target's, or one kind's.

    Examples:

    ```
    kanri lab clear                       # everything
    kanri lab clear blade-03              # power back, parts OK, BMC answers
    kanri lab clear --kind drop-events
    ```
    """
    answer = LabClient(lab, lab_user, lab_password).delete(
        "/faults", target=_target(target) if target else None, kind=str(kind) if kind else None
    )
    if output is Format.JSON:
        emit_json(answer)
        return
    cleared = answer["cleared"]
    out.print(f"cleared: {', '.join(cleared)}" if cleared else "nothing to clear")


def faults(
    lab: LabUrlOpt = None,
    lab_user: LabUserOpt = DEFAULT_USER,
    lab_password: LabPasswordOpt = DEFAULT_PASSWORD,
    output: OutputOpt = Format.TABLE,
) -> None:
    """The faults in effect now."""
    answer = LabClient(lab, lab_user, lab_password).get("/faults")
    if output is Format.JSON:
        emit_json(answer)
        return
    show_faults(answer["faults"])


def show_faults(found: list[dict[str, Any]]) -> None:
    if not found:
        out.print("no faults")
        return
    table(found, [("KIND", lambda f: f["kind"]), ("FAULT", describe)])
