"""What the CLI asks of the operator: passwords (from a file, standard input or a prompt —
never argv, where every user of the machine could read them) and confirmations."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from kanri.cli.errors import CliError, ExitCode


def read_password(path: Path | None, what: str) -> str:
    """The first line of ``path`` (``-``: standard input); without a path, asked for at a
    terminal. ``what`` names whose password it is ("BMC", "array") in messages."""
    if path is None:
        if not sys.stdin.isatty():
            raise CliError(
                f"give the {what} password with --password-file FILE (or - for stdin)",
                ExitCode.USAGE,
            )
        password: str = typer.prompt(f"{what} password", hide_input=True)
        return password
    where = "standard input" if str(path) == "-" else f"the password file {path}"
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{where} is not UTF-8 text", ExitCode.USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot read {where}: {exc.strerror or exc}", ExitCode.USAGE) from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise CliError(f"{where} is empty", ExitCode.USAGE)
    return password


def confirm_removal(what: str, yes: bool) -> None:
    """Ask before removing ``what`` ("machine web1"); ``--yes`` skips the question, and
    without a terminal to ask the removal is refused rather than assumed."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(
            f"refusing to remove {what} without --yes (no terminal to ask)", ExitCode.USAGE
        )
    typer.confirm(f"Remove {what}?", abort=True)
