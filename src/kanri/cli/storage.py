"""kanri storage: register storage arrays; kanri volume: the volumes on them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.errors import CliError
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, emit_json, err, error, out, show_one, show_rows, table
from kanri.cli.prompts import confirm_removal, read_password

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Storage arrays: where servers' boot volumes live.",
    no_args_is_help=True,
)
volume_app = typer.Typer(
    rich_markup_mode="markdown",
    help="Volumes on the registered storage arrays, and who sees them.",
    no_args_is_help=True,
)

_STORAGE_COLUMNS = [
    ("NAME", lambda s: s["name"]),
    ("URL", lambda s: s["url"]),
    ("DRIVER", lambda s: s["driver"]),
    ("USER", lambda s: s["username"]),
    ("TLS", lambda s: "verified" if s["verify_tls"] else "not verified"),
]

_VOLUME_COLUMNS = [
    ("STORAGE", lambda r: r["storage"]),
    ("VOLUME", lambda r: r["id"]),
    ("SIZE", lambda r: size(r["capacity_bytes"])),
    ("HOST GROUP", lambda r: r["host_group"]),
    ("LUN", lambda r: r["lun"]),
    ("INITIATORS", lambda r: ", ".join(r["initiators"]) or None),
]


def size(capacity: int) -> str:
    """Bytes as an operator reads them: binary units, at most one decimal."""
    value, unit = float(capacity), "B"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, next_unit
    return f"{value:.1f}".removesuffix(".0") + f" {unit}" if unit != "B" else f"{capacity} B"


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name for the array")],
    url: Annotated[str, typer.Argument(help="its management URL, e.g. https://10.0.0.20")],
    username: Annotated[str, typer.Option("--username", "-u", help="array user name")],
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="file whose first line is the password; - for stdin; asked if not given",
        ),
    ] = None,
    driver: Annotated[str, typer.Option(help="storage driver (swordfish, fake, ...)")] = (
        "swordfish"
    ),
    insecure: Annotated[
        bool, typer.Option("--insecure", help="do not verify the array's TLS certificate")
    ] = False,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Register a storage array. kanri logs in to it first: nothing is stored if that fails."""
    body = {
        "name": name,
        "url": url,
        "username": username,
        "password": read_password(password_file, "array"),
        "verify_tls": not insecure,
        "driver": driver,
    }
    with err.status(f"checking {url}..."):
        added = api(ctx).post("/api/v1/storage", body)
    show_one(added, output, _STORAGE_COLUMNS, "registered storage system")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """List the registered storage arrays."""
    systems = api(ctx).get("/api/v1/storage")
    show_rows(
        systems,
        output,
        _STORAGE_COLUMNS,
        "no storage yet: add one with 'kanri storage add NAME URL --username U'",
    )


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Show one storage array and what it holds now (asked live). An array that does not
    answer still shows what kanri knows of it, and the command fails."""
    system = api(ctx).get(resource_path("storage", name))
    volumes: list[dict[str, Any]] | None = None
    failure: CliError | None = None
    try:
        volumes = api(ctx).get(resource_path("storage", name, "volumes"))
    except CliError as exc:
        failure = exc
    if output is Format.JSON:
        emit_json({**system, "volumes": volumes})
    else:
        fields = [
            ("name", system["name"]),
            ("url", system["url"]),
            ("driver", system["driver"]),
            ("user", system["username"]),
            ("tls", "verified" if system["verify_tls"] else "not verified"),
        ]
        if volumes is not None:
            groups = {m["host_group"] for v in volumes for m in v["mappings"]}
            total = size(sum(v["capacity_bytes"] for v in volumes))
            fields.append(("volumes", f"{len(volumes)}, {total}"))
            fields.append(("mapped in", f"{len(groups)} host group(s)"))
        for label, value in fields:
            out.print(f"[bold]{label:>10}[/]  {escape(str(value))}")
    if failure is not None:
        raise CliError(f"{name} did not tell its volumes: {failure}", failure.code)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Forget a storage array. Its volumes and host groups are left as they are."""
    confirm_removal(f"storage system {name} from kanri", yes)
    api(ctx).delete(resource_path("storage", name))
    out.print(f"removed {name}")


def _rows(volumes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per mapping; a volume mapped nowhere gets one row of its own."""
    rows: list[dict[str, Any]] = []
    for volume in volumes:
        for mapping in volume["mappings"] or [{"host_group": None, "lun": None, "initiators": []}]:
            rows.append({**volume, **mapping})
    return rows


@volume_app.command("list")
def list_volumes(
    ctx: typer.Context,
    storage: Annotated[
        str | None, typer.Option("--storage", "-s", help="only this storage array")
    ] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """List volumes with their size and the host groups, LUNs and initiators they are
    mapped to, read from the arrays now. An array that does not answer is reported and
    the others are still listed."""
    client = api(ctx)
    names = [storage] if storage else [s["name"] for s in client.get("/api/v1/storage")]
    volumes: list[dict[str, Any]] = []
    failures: list[CliError] = []
    for name in names:
        try:
            volumes.extend(client.get(resource_path("storage", name, "volumes")))
        except CliError as exc:
            if storage:
                raise
            error(f"{name}: {exc}")
            failures.append(exc)
    if output is Format.JSON:
        emit_json(volumes)
    elif not names:
        out.print("no storage yet: add one with 'kanri storage add NAME URL --username U'")
    elif not volumes and not failures:
        out.print("no volumes")
    elif volumes:
        table(_rows(volumes), _VOLUME_COLUMNS)
    if failures:
        raise CliError(f"{len(failures)} of {len(names)} arrays failed", failures[0].code)
