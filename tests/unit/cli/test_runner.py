"""What serve and demo check before a Manager exists, and how uvicorn's failures come out."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from kanri.cli.errors import CliError, ExitCode
from kanri.cli.main import _code_for
from kanri.cli.runner import check_database_url, check_listen, run_server
from kanri.domain.errors import BmcUnreachable, Conflict, Invalid, KanriError, NotFound
from kanri.lab.sushy_emulator import free_port
from kanri.settings import Settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def _app_that_fails_to_start(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no"})


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})


def _server(app: Any, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    return uvicorn.Server(config)


def test_a_server_whose_app_fails_to_start_is_exit_1_not_3() -> None:
    with pytest.raises(CliError) as caught:
        run_server(_server(_app_that_fails_to_start, 0))
    assert caught.value.code == ExitCode.ERROR


def test_a_server_that_cannot_bind_is_exit_1_not_3() -> None:
    with socket.socket() as taken:  # taken after any check, as in a race
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(CliError) as caught:
            run_server(_server(_app, taken.getsockname()[1]))
    assert caught.value.code == ExitCode.ERROR


def test_check_listen_accepts_a_free_port_and_refuses_a_taken_one() -> None:
    check_listen("127.0.0.1", free_port(), "kanri API", "--port")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        taken.listen()
        with pytest.raises(CliError) as caught:
            check_listen("127.0.0.1", port, "kanri API", "--port")
    assert caught.value.code == ExitCode.USAGE
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port} for the kanri API: port {port} is in use "
        "(another kanri running?); choose another --port"
    )


@pytest.mark.parametrize(
    "url", ["sqlite:////var/lib/kanri/kanri.db", "postgresql+psycopg://k:pw@db:5432/kanri"]
)
def test_database_urls_kanri_can_use(url: str) -> None:
    check_database_url(url)


@pytest.mark.parametrize("url", ["nonsense", "", "nosuchdb://x/y", "postgresql://k:pw@db:x/k"])
def test_database_urls_that_are_usage_errors_and_never_shown(url: str) -> None:
    with pytest.raises(CliError) as caught:
        check_database_url(url)
    assert caught.value.code == ExitCode.USAGE
    assert "pw@" not in str(caught.value)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_data_dir_creates_it_owner_only(tmp_path: Path) -> None:
    settings = Settings.from_env(tmp_path / "new")
    settings.ensure_data_dir()
    assert _mode(settings.data_dir) == 0o700


def test_ensure_data_dir_tightens_an_existing_one_of_ours(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    Settings.from_env(data).ensure_data_dir()
    assert _mode(data) == 0o700


def test_ensure_data_dir_leaves_a_tight_one_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    Settings.from_env(data).ensure_data_dir()
    assert _mode(data) == 0o500
    data.chmod(0o700)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a directory as another user")
def test_ensure_data_dir_leaves_someone_elses_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    os.chown(data, 65534, 65534)
    Settings.from_env(data).ensure_data_dir()
    assert _mode(data) == 0o755


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Invalid("bad"), ExitCode.USAGE),
        (NotFound("gone"), ExitCode.NOT_FOUND),
        (Conflict("taken"), ExitCode.CONFLICT),
        (BmcUnreachable("https://bmc", "down"), ExitCode.BMC),
        (KanriError("cannot use the database"), ExitCode.ERROR),
    ],
)
def test_errors_from_a_manager_in_this_process_get_their_exit_code(
    error: KanriError, code: ExitCode
) -> None:
    assert _code_for(error) == code
