"""Options of the commands that run a lab in this process, refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kanri.cli.errors import CliError
from kanri.cli.main import app
from kanri.lab.server import free_port


@pytest.mark.parametrize("command", [["lab", "serve"], ["demo"]])
@pytest.mark.parametrize("scale", ["1e300", "inf", "0"])
def test_a_time_scale_the_lab_clock_cannot_hold_is_a_usage_error(
    command: list[str], scale: str, tmp_path: Path
) -> None:
    """A lab at 1e300 lab seconds per second overflows its calendar at once (a
    traceback from deep in the lab before the fix)."""
    done = CliRunner().invoke(app, [*command, "--scale", scale, "--data-dir", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert "--scale" in done.output
    assert list(tmp_path.iterdir()) == []  # nothing was started


def test_fresh_on_a_data_dir_that_is_no_directory_is_one_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "a-file"
    data_dir.write_text("not a directory")
    done = CliRunner().invoke(
        app, ["lab", "serve", "--fresh", "--data-dir", str(data_dir), "--port", str(free_port())]
    )
    assert isinstance(done.exception, CliError), done.exception  # not an OSError's traceback
    assert "cannot forget the saved lab state" in str(done.exception)
