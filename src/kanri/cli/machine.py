"""kanri machine: register machines by their BMC, list, show, rename, refresh, remove."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.output import Format, emit_json, err, out, show_one, table
from kanri.cli.prompts import confirm_removal, read_password

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Physical machines, registered by their BMC.",
    no_args_is_help=True,
)

OutputOpt = Annotated[
    Format, typer.Option("--output", "-o", help="table for people, json for scripts")
]

_LIST_COLUMNS = [
    ("NAME", lambda m: m["name"]),
    ("KIND", lambda m: m["kind"]),
    ("HOST", lambda m: m.get("host") or m["host_system_id"]),
    (
        "MODE",
        lambda m: (
            (m.get("mode") or "") + (f" -> {m['pending_mode']}" if m.get("pending_mode") else "")
            or None
        ),
    ),
    ("POWER", lambda m: m["power"] if m["reachable"] else "unreachable"),
    ("HEALTH", lambda m: m["health"]),
    ("MODEL", lambda m: " ".join(filter(None, [m["manufacturer"], m["model"]])) or None),
    ("CORES", lambda m: m["cpu_cores"]),
    ("MEMORY", lambda m: f"{m['memory_mib'] // 1024} GiB" if m["memory_mib"] else None),
    ("BMC", lambda m: f"{m['bmc_url']} #{m['system_id']}"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Machine name; with several systems, their prefix.")],
    bmc: Annotated[str, typer.Option("--bmc", help="BMC URL, e.g. https://10.0.0.5")],
    user: Annotated[str, typer.Option("--user", "-u", help="BMC user name")],
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="file whose first line is the password; - for stdin; asked if not given",
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="do not verify the BMC's TLS certificate")
    ] = False,
    driver: Annotated[str, typer.Option(help="driver name (redfish, fake, ...)")] = "redfish",
    system: Annotated[
        str | None, typer.Option("--system", help="register only this system id of the BMC")
    ] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Discover what a BMC manages and register it.

    A BMC with one system gives it NAME; a chassis manager with several systems gives each
    `NAME-SYSTEMID` (the system id lower-cased, other characters turned into '-'). Rename afterwards
    with 'kanri machine rename'.
    """
    body: dict[str, Any] = {
        "name": name,
        "bmc_url": bmc,
        "username": user,
        "password": read_password(password_file, "BMC"),
        "verify_tls": not insecure,
        "driver": driver,
        "system_id": system,
    }
    with err.status(f"discovering what {bmc} manages..."):
        machines = api(ctx).post("/api/v1/machines", body)
    if output is Format.JSON:
        emit_json(machines)
        return
    table(machines, _LIST_COLUMNS, title=f"registered {len(machines)} machine(s)")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """List every machine with its last known power and health."""
    machines = api(ctx).get("/api/v1/machines")
    if output is Format.JSON:
        emit_json(machines)
    elif not machines:
        out.print("no machines yet: add one with 'kanri machine add NAME --bmc URL ...'")
    else:
        table(_with_host_names(machines), _LIST_COLUMNS)


def _with_host_names(machines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A partition's host by its kanri name: the machine behind the same BMC whose system
    id the partition names."""
    names = {(m["bmc_url"], m["system_id"]): m["name"] for m in machines}
    return [{**m, "host": names.get((m["bmc_url"], m["host_system_id"]))} for m in machines]


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Show one machine's inventory: identity, CPU, memory, NICs, Fibre Channel ports."""
    m = api(ctx).get(resource_path("machines", name))
    if output is Format.JSON:
        emit_json(m)
        return
    fields = [
        ("name", m["name"]),
        ("power", m["power"] + ("" if m["reachable"] else " (BMC unreachable)")),
        ("desired power", m["desired_power"] or "-"),
        ("health", m["health"]),
        ("manufacturer", m["manufacturer"]),
        ("model", m["model"]),
        ("serial", m["serial"]),
        ("uuid", m["uuid"]),
        ("cpu cores", m["cpu_cores"]),
        ("memory", f"{m['memory_mib']} MiB" if m["memory_mib"] else None),
        ("kind", m["kind"]),
        (
            "mode",
            (m.get("mode") or "-")
            + (f" ({m['pending_mode']} from its next boot)" if m.get("pending_mode") else ""),
        ),
        ("host", m["host_system_id"] and f"system {m['host_system_id']} of the same BMC"),
        ("bmc", f"{m['bmc_url']} (system {m['system_id']}, driver {m['driver']})"),
        ("checked", m["power_checked_at"]),
    ]
    for label, value in fields:
        out.print(f"[bold]{label:>14}[/]  {escape(str(value if value is not None else '-'))}")
    for nic in m["nics"]:
        out.print(f"[bold]{'nic':>14}[/]  {escape(nic['name'])}  {nic['mac']}")
    for port in m["fc_ports"]:
        out.print(f"[bold]{'fc port':>14}[/]  {escape(port['name'])}  {port['wwpn']}")


@app.command("rename")
def rename(ctx: typer.Context, name: str, new_name: str) -> None:
    """Give a machine another name."""
    api(ctx).patch(resource_path("machines", name), {"name": new_name})
    out.print(f"renamed {name} to {new_name}")


@app.command("refresh")
def refresh(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Read a machine's inventory and health from its BMC again."""
    m = api(ctx).post(resource_path("machines", name, "refresh"))
    show_one(m, output, _LIST_COLUMNS)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Forget a machine. Its power is left as it is; its BMC is not touched."""
    confirm_removal(f"machine {name} from kanri", yes)
    api(ctx).delete(resource_path("machines", name))
    out.print(f"removed {name}")


@app.command("mode")
def mode(
    ctx: typer.Context,
    name: str,
    new_mode: Annotated[str, typer.Argument(metavar="bare|hypervisor", help="the mode to run in")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="a server placed on it is unplaced (its record stays) and stops"
        ),
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="follow the job to its end")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="seconds for the new mode to show")
    ] = 600,
) -> None:
    """Switch a machine between bare and hypervisor mode: a job that sets the mode, reboots
    the machine (starts it if off, restarts it if on) and waits until the firmware reports
    the new mode. Refused (exit 4) if a server is placed on it (unless --force) or, to bare,
    while it has partitions. With --wait: exit 0 when done, 7 if the mode did not show in
    time."""
    from kanri.cli.power import _follow

    body = {"mode": new_mode, "force": force, "timeout": timeout}
    job = api(ctx).post(resource_path("machines", name, "mode"), body)
    out.print(escape(f"job {job['id']}: {name} to {new_mode} mode (set, reboot, verify)"))
    if not wait:
        out.print(f"job {job['id']}: {job['state']} (follow it: kanri job watch {job['id']})")
        return
    _follow(ctx, job["id"], timeout)


@app.command("pool")
def pool(ctx: typer.Context, host: str, output: OutputOpt = Format.TABLE) -> None:
    """A hypervisor machine's pool as its BMC reports it now: what is free and who holds
    the rest."""
    p = api(ctx).get(resource_path("machines", host, "pool"))
    if output is Format.JSON:
        emit_json(p)
        return
    free_mem = p["memory_free_gib"]
    out.print(
        escape(
            f"{host}: {p['mode']} mode; cores {p['cores_free']} free of {p['cores']}; memory "
            f"{free_mem} GiB free of {p['memory_gib']} (blocks of {p['memory_block_gib']} GiB)"
        )
    )
    rows = [
        {"what": f"core {c['index']}", "free": c["dedicated_to"] is None and not c["shared_by"],
         "held": _held(c)}
        for c in p["core_use"]
    ] + [
        {"what": f"port {q['id']} ({q['kind']} {q['identity']})",
         "free": q["dedicated_to"] is None and not q["shared_by"], "held": _held(q)}
        for q in p["ports"]
    ]  # fmt: skip
    table(rows, _POOL_COLUMNS)


_POOL_COLUMNS = [
    ("RESOURCE", lambda r: r["what"]),
    ("FREE", lambda r: "yes" if r["free"] else "no"),
    ("USED BY", lambda r: r["held"] or None),
]


def _mode(m: dict[str, Any], pending: str = " -> {}") -> str:
    """A machine's mode, and the one waiting for its next boot."""
    now = m.get("mode") or ""
    return now + (pending.format(m["pending_mode"]) if m.get("pending_mode") else "")


def _held(use: dict[str, Any]) -> str:
    if use["dedicated_to"] is not None:
        return f"{use['dedicated_to'] or 'another'} (dedicated)"
    if use["shared_by"]:
        return f"{', '.join(use['shared_by'])} (shared)"
    return ""
