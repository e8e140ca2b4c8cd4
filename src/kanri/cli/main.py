"""Entry point of the ``kanri`` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="kanri: manage a datacenter's servers, physical and logical alike.")


@app.command()
def version() -> None:
    """Print kanri's version."""
    from kanri import __version__

    typer.echo(__version__)


def main() -> None:
    app()
