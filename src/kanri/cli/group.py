"""kanri group: named sets of machines, usable wherever a target is."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kanri.cli.client import resource_path
from kanri.cli.context import api
from kanri.cli.machine import OutputOpt
from kanri.cli.output import Format, out, show_one, show_rows
from kanri.cli.prompts import confirm_removal

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Groups: named sets of machines, usable wherever a target is.",
    no_args_is_help=True,
)

_COLUMNS = [
    ("NAME", lambda g: g["name"]),
    ("MACHINES", lambda g: len(g["members"])),
    ("MEMBERS", lambda g: ", ".join(g["members"]) or None),
]


def _show(group: dict[str, Any], output: Format, title: str | None = None) -> None:
    show_one(group, output, _COLUMNS, title)


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name for the group")],
    members: Annotated[list[str] | None, typer.Argument(help="machine names")] = None,
    output: OutputOpt = Format.TABLE,
) -> None:
    """Make a group of machines. Each must be registered: nothing is stored otherwise."""
    added = api(ctx).post("/api/v1/groups", {"name": name, "members": members or []})
    _show(added, output, "added group")


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.TABLE) -> None:
    """List the groups and their machines."""
    groups = api(ctx).get("/api/v1/groups")
    show_rows(
        groups, output, _COLUMNS, "no groups yet: add one with 'kanri group add NAME MACHINE...'"
    )


@app.command("show")
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.TABLE) -> None:
    """Show one group's machines."""
    _show(api(ctx).get(resource_path("groups", name)), output)


@app.command("add-member")
def add_member(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the group")],
    machines: Annotated[list[str], typer.Argument(help="machines to add")],
    output: OutputOpt = Format.TABLE,
) -> None:
    """Add machines to a group (all or none)."""
    changed = api(ctx).patch(resource_path("groups", name, "members"), {"add": machines})
    _show(changed, output)


@app.command("remove-member")
def remove_member(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the group")],
    machines: Annotated[list[str], typer.Argument(help="machines to take out")],
    output: OutputOpt = Format.TABLE,
) -> None:
    """Take machines out of a group; the machines themselves are left alone."""
    changed = api(ctx).patch(resource_path("groups", name, "members"), {"remove": machines})
    _show(changed, output)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Remove a group (refused while a schedule uses it). Its machines are left alone."""
    confirm_removal(f"group {name}", yes)
    api(ctx).delete(resource_path("groups", name))
    out.print(f"removed group {name}")
