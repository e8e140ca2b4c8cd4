"""kanri partition: partitions carved from hypervisor machines (docs/partitions.md)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, out, show_rows
from kanri.cli.prompts import confirm_removal

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Partitions carved from a hypervisor machine's pool; each is a machine too.",
    no_args_is_help=True,
)

_COLUMNS = [
    ("NAME", lambda p: p["name"]),
    ("HOST", lambda p: p["host"]),
    ("CORES", lambda p: f"{p['cores']} {p['cpu_mode']}"),
    ("WEIGHT", lambda p: p["shared_weight"] if p["cpu_mode"] == "shared" else None),
    ("MEMORY", lambda p: f"{p['memory_gib']} GiB"),
    ("PORTS", lambda p: port_words(p["ports"]) or None),
    ("CPUS", lambda p: cpus_text(p["cpus"]) or None),
    ("POWER", lambda p: p["power"]),
    ("RUN STATE", lambda p: p["run_state"]),
]

_MEMORY = re.compile(r"^\s*(\d+)\s*(g|gb|gi|gib)?\s*$", re.IGNORECASE)


def parse_memory(text: str) -> int:
    """``16G``, ``16GiB`` or ``16``: GiB."""
    found = _MEMORY.match(text)
    if found is None:
        raise CliError(f"--memory {text!r}: give GiB, like 16G", ExitCode.USAGE)
    return int(found.group(1))


def parse_port(text: str) -> dict[str, Any]:
    """``fc0`` (dedicated), ``nic0:shared`` or ``nic0:shared=IDENTITY``."""
    port, _, rest = text.partition(":")
    if not port or (rest and not rest.startswith("shared")):
        raise CliError(
            f"--port {text!r}: use PORT, PORT:shared or PORT:shared=IDENTITY", ExitCode.USAGE
        )
    if not rest:
        return {"port": port, "shared": False}
    mode, eq, identity = rest.partition("=")
    if mode != "shared" or (eq and not identity):
        raise CliError(
            f"--port {text!r}: use PORT, PORT:shared or PORT:shared=IDENTITY", ExitCode.USAGE
        )
    return {"port": port, "shared": True, "identity": identity or None}


def parse_cpus(text: str) -> list[int]:
    """``0-3,6``: core indexes."""
    cores: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise CliError(f"--cpus {text!r}: use indexes and ranges, like 0-3,6", ExitCode.USAGE)
        cores += list(range(int(low), int(high) + 1)) if dash else [int(low)]
    return cores


def port_words(ports: list[dict[str, Any]]) -> str:
    def one(p: dict[str, Any]) -> str:
        shared = ":shared" if p["shared"] else ""
        return str(p["port"]) + shared + (f"={p['identity']}" if p.get("identity") else "")

    return ", ".join(one(p) for p in ports)


def cpus_text(cpus: list[int]) -> str:
    return ",".join(map(str, cpus))


MemoryOpt = Annotated[str | None, typer.Option("--memory", help="GiB, like 16G")]
CoresOpt = Annotated[int | None, typer.Option("--cores", help="how many cores")]
CpuModeOpt = Annotated[
    str | None, typer.Option("--cpu-mode", help="dedicated (whole cores) or shared")
]
WeightOpt = Annotated[
    int | None, typer.Option("--weight", help="1-1000: its share of the cores it shares")
]
PortOpt = Annotated[
    list[str] | None,
    typer.Option("--port", help="fc0, nic0:shared or nic0:shared=IDENTITY; repeat per port"),
]
CpusOpt = Annotated[str | None, typer.Option("--cpus", help="pin to these cores: 0-3,6")]


def _fields(
    cores: int | None,
    memory: str | None,
    cpu_mode: str | None,
    weight: int | None,
    ports: list[str] | None,
    cpus: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if cores is not None:
        body["cores"] = cores
    if memory is not None:
        body["memory_gib"] = parse_memory(memory)
    if cpu_mode is not None:
        body["cpu_mode"] = cpu_mode
    if weight is not None:
        body["shared_weight"] = weight
    if ports is not None:
        body["ports"] = [parse_port(p) for p in ports]
    if cpus is not None:
        body["cpus"] = parse_cpus(cpus)
    return body


def _show(p: dict[str, Any], output: Format) -> None:
    if output is Format.JSON:
        emit_json(p)
        return
    fields = [
        ("name", p["name"]),
        ("host", p["host"]),
        ("system id", p["system_id"]),
        ("cores", f"{p['cores']} {p['cpu_mode']}"),
        ("shared weight", p["shared_weight"]),
        ("memory", f"{p['memory_gib']} GiB"),
        ("ports", port_words(p["ports"]) or "none"),
        ("cpus", cpus_text(p["cpus"]) or "picked by the host"),
        ("power", p["power"]),
        ("run state", f"{p['run_state']} ({p['run_state_cause'] or '-'}, by "
                      f"{p['run_state_by'] or '-'}, {p['run_state_at']})"),
    ]  # fmt: skip
    for label, value in fields:
        out.print(f"[bold]{label:>14}[/]  {escape(str(value))}")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the partition's name (a machine name too)")],
    host: Annotated[str, typer.Option("--host", help="the hypervisor machine")],
    cores: Annotated[int, typer.Option("--cores", help="how many cores")],
    memory: Annotated[str, typer.Option("--memory", help="GiB, like 16G")],
    cpu_mode: CpuModeOpt = None,
    weight: WeightOpt = None,
    ports: PortOpt = None,
    cpus: CpusOpt = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Carve a partition from HOST's pool. It is made off and registered as a machine:
    every power command works on it. Refused (exit 4), naming what the pool lacks, when it
    does not fit, or HOST is in bare mode."""
    body = {"host": host, "name": name} | _fields(cores, memory, cpu_mode, weight, ports, cpus)
    made = api(ctx).post("/api/v1/partitions", body)
    if output is Format.JSON:
        emit_json(made)
        return
    out.print(escape(f"created partition {name} on {host} (off)"))
    _show(made, output)


@app.command("modify")
def modify(
    ctx: typer.Context,
    name: str,
    cores: CoresOpt = None,
    memory: MemoryOpt = None,
    cpu_mode: CpuModeOpt = None,
    weight: WeightOpt = None,
    ports: PortOpt = None,
    cpus: CpusOpt = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="while it runs, refuse unless all of it applies now"),
    ] = False,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Change what is given. Off, all of it is made. Running, what may change live (more
    cores, the shared weight) is made now and the rest is listed as needing a restart and
    not made: stop it and modify again. --strict refuses instead (exit 4)."""
    body = _fields(cores, memory, cpu_mode, weight, ports, cpus)
    if not body:
        raise CliError("say what to change: --cores, --memory, --weight, ...", ExitCode.USAGE)
    answer = api(ctx).patch(resource_path("partitions", name), body | {"strict": strict})
    if output is Format.JSON:
        emit_json(answer)
        return
    out.print(escape(f"partition {name}: {answer['summary']}"))
    if answer["needs_restart"]:
        out.print(
            escape(f"not made while it runs: stop it (kanri power off {name}) and modify again")
        )


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Free a partition's resources and forget it. Refused while it is on."""
    confirm_removal(f"partition {name} (its resources go back to the pool)", yes)
    api(ctx).delete(resource_path("partitions", name))
    out.print(f"deleted partition {name}")


@app.command("list")
def list_(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="only this machine's")] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """List partitions with their resources, power and run state."""
    rows = api(ctx).get("/api/v1/partitions", **({"host": host} if host else {}))
    show_rows(rows, output, _COLUMNS, "no partitions: carve one with 'kanri partition create'")


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Show one partition."""
    _show(api(ctx).get(resource_path("partitions", name)), output)
