"""Tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def error(message: str) -> None:
    """One line on stderr; the message is shown as is, never read as markup."""
    err.print(f"[red]error:[/] {escape(message)}")


def warn(message: str) -> None:
    """One line on stderr that does not stop the command."""
    err.print(f"[yellow]warning:[/] {escape(message)}")


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


Column = tuple[str, Callable[[dict[str, Any]], object]]


def table(
    rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str | None = None
) -> None:
    t = Table(title=title, show_edge=False, header_style="bold")
    for heading, _ in columns:
        t.add_column(heading)
    for row in rows:
        t.add_row(*(_cell(get(row)) for _, get in columns))
    out.print(t)


_STYLE = {
    "on": "green",
    "off": "dim",
    "ok": "green",
    "warning": "yellow",
    "critical": "red",
    "unknown": "magenta",
    "powering_on": "cyan",
    "powering_off": "cyan",
}


def _cell(value: object) -> str:
    if value is None:
        return "-"
    text = str(value)
    style = _STYLE.get(text)
    return f"[{style}]{text}[/]" if style else text.replace("[", r"\[")


def show_one(
    row: dict[str, Any], output: Format, columns: Sequence[Column], title: str | None = None
) -> None:
    """What a command that made or changed one thing prints: JSON for scripts, else a
    one-row table."""
    if output is Format.JSON:
        emit_json(row)
    else:
        table([row], columns, title)


def show_rows(
    rows: Sequence[dict[str, Any]],
    output: Format,
    columns: Sequence[Column],
    empty: str,
    title: str | None = None,
) -> None:
    """What every read command prints: JSON for scripts, else a table, or ``empty`` (what
    to do next) when there is nothing to show."""
    if output is Format.JSON:
        emit_json(rows)
    elif not rows:
        out.print(empty)
    else:
        table(rows, columns, title)
