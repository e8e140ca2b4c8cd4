"""kanri server: servers (an identity, a boot volume, resource needs), where they are
placed (a bare machine or a partition), and their power by name."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows
from kanri.cli.power import _follow
from kanri.cli.prompts import confirm_removal
from kanri.domain.states import PowerAction

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Servers: identities and boot volumes, placed on bare machines or partitions.",
    no_args_is_help=True,
)

_UNITS = {"G": 1, "GB": 1, "GIB": 1, "T": 1024, "TB": 1024, "TIB": 1024}


def parse_memory(text: str) -> int:
    """``16G``, ``16GiB``, ``1T`` or ``16`` (GiB) -> GiB."""
    raw = text.strip().upper()
    digits = raw.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    unit = raw[len(digits) :] or "G"
    if not digits.isdigit() or unit not in _UNITS:
        raise CliError(f"--memory {text!r}: give GiB like 16G or 1T", ExitCode.USAGE)
    return int(digits) * _UNITS[unit]


def parse_ports(values: list[str] | None, option: str) -> dict[str, str | None]:
    """``fc0=20:00:..`` -> {"fc0": "20:00:.."}; a bare ``fc0`` -> generated (None)."""
    ports: dict[str, str | None] = {}
    for value in values or []:
        port, sep, identity = value.partition("=")
        if not port or (sep and not identity):
            raise CliError(f"{option} {value!r}: give PORT=IDENTITY or PORT", ExitCode.USAGE)
        if port in ports:
            raise CliError(f"{option}: port {port} is given twice", ExitCode.USAGE)
        ports[port] = identity or None
    return ports


def _where(s: dict[str, Any]) -> str | None:
    if not s["placed_on"]:
        return None
    if s.get("placed_kind") == "partition":
        return f"partition {s['placed_on']} of {s['host'] or 'an unknown host'}"
    return f"machine {s['placed_on']}"


_COLUMNS = [
    ("NAME", lambda s: s["name"]),
    ("PLACED ON", _where),
    ("POWER", lambda s: s["power"]),
    ("DESIRED", lambda s: s["desired_power"]),
    ("BOOT VOLUME", lambda s: s["boot_volume"]),
    ("IDENTITY", lambda s: ", ".join(f"{p['port']}={p['identity']}" for p in s["ports"])),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the server's name")],
    boot_volume: Annotated[
        str | None, typer.Option("--boot-volume", help="ARRAY/VOLUME it boots from")
    ] = None,
    cores: Annotated[int | None, typer.Option("--cores", min=1, help="cores it needs")] = None,
    memory: Annotated[
        str | None, typer.Option("--memory", help="memory it needs, e.g. 16G")
    ] = None,
    wwpn: Annotated[
        list[str] | None,
        typer.Option("--wwpn", help="PORT=WWPN, or PORT for a generated one (repeatable)"),
    ] = None,
    mac: Annotated[
        list[str] | None,
        typer.Option("--mac", help="PORT=MAC, or PORT for a generated one (repeatable)"),
    ] = None,
    uuid: Annotated[str | None, typer.Option("--uuid", help="default: made from the name")] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Add a server. Without --wwpn or --mac it gets a generated WWPN on fc0 and MAC on
    nic0 (kanri's ranges: docs/partitions.md). Give the identity its SAN host group maps
    to boot the volume it already has."""
    body: dict[str, Any] = {
        "name": name,
        "boot_volume": boot_volume,
        "cores": cores,
        "memory_gib": parse_memory(memory) if memory else None,
        "wwpns": parse_ports(wwpn, "--wwpn"),
        "macs": parse_ports(mac, "--mac"),
        "uuid": uuid,
    }
    made = api(ctx).post("/api/v1/servers", body)
    if output is Format.JSON:
        emit_json(made)
        return
    _show(made)


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """Every server, where it is placed and its power."""
    rows = api(ctx).get("/api/v1/servers")
    show_rows(rows, output, _COLUMNS, "no servers yet: add one with 'kanri server add NAME'")


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Where a server is placed, its identity, boot volume, desired and actual power."""
    s = api(ctx).get(resource_path("servers", name))
    if output is Format.JSON:
        emit_json(s)
        return
    _show(s)


def _show(s: dict[str, Any]) -> None:
    fields = [
        ("name", s["name"]),
        ("placed on", _where(s) or "nowhere"),
        ("power", s["power"] or "-"),
        ("desired power", s["desired_power"]),
        ("boot volume", s["boot_volume"] or "-"),
        ("cores", s["cores"] or "-"),
        ("memory", f"{s['memory_gib']} GiB" if s["memory_gib"] else "-"),
        ("uuid", s["uuid"]),
    ]
    for label, value in fields:
        out.print(f"[bold]{label:>14}[/]  {escape(str(value))}")
    for p in s["ports"]:
        out.print(f"[bold]{p['kind'] + ' ' + p['port']:>14}[/]  {p['identity']}")


@app.command("place")
def place(ctx: typer.Context, name: str, target: str) -> None:
    """Place a server on an off bare machine or partition: its identities are presented
    there from the next boot, so it boots its own volume."""
    s = api(ctx).post(resource_path("servers", name, "place"), {"target": target})
    out.print(escape(f"{name}: placed on {_where(s)} (its identities apply from the next boot)"))


@app.command("unplace")
def unplace(ctx: typer.Context, name: str) -> None:
    """Give the target's ports their own identities back (the target must be off)."""
    api(ctx).post(resource_path("servers", name, "unplace"))
    out.print(f"{name}: placed nowhere")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Forget a server (unplaced first; its volume is not touched)."""
    confirm_removal(f"server {name}", yes)
    api(ctx).delete(resource_path("servers", name))
    out.print(f"removed {name}")


@app.command("power")
def power(
    ctx: typer.Context,
    action: Annotated[PowerAction, typer.Argument(help="on, off, force_off, restart, reset")],
    name: str,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="follow the job to its end")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds to wait")] = 300,
) -> None:
    """Power a server where it is placed, as a power job (the same as 'kanri power')."""
    body = {"action": action.value, "wait": wait, "timeout": timeout}
    job = api(ctx).post(resource_path("servers", name, "power"), body)
    steps = ", ".join(s["name"] for s in job["steps"])
    out.print(escape(f"job {job['id']}: server {name} power {action.value} ({steps})"))
    if not wait:
        out.print(f"job {job['id']}: {job['state']} (follow it: kanri job watch {job['id']})")
        return
    _follow(ctx, job["id"], timeout)
