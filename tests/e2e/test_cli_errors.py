"""Bad input to the real ``kanri`` command: one line on stderr and a documented exit code.

Never a traceback. Most of these need no manager: the CLI refuses before it connects.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kanri.lab.sushy_emulator import free_port
from tests.e2e.conftest import Cli, KanriServer

USAGE, ERROR, API = 2, 1, 6


@dataclass
class Run:
    code: int
    out: str
    err: str

    def one_error(self, code: int, *words: str) -> str:
        """Assert the run failed with ``code`` and exactly one error line holding ``words``."""
        lines = self.err.strip().splitlines()
        assert self.code == code, self.err
        assert "Traceback" not in self.err
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err
        for word in words:
            assert word in lines[0], lines[0]
        return lines[0]


def kanri(
    *args: str, env: dict[str, str] | None = None, stdin: bytes = b"", timeout: float = 60
) -> Run:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KANRI_")}
    full.update({"COLUMNS": "300", **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "kanri", *args],
        input=stdin,
        capture_output=True,
        env=full,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def private_file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    path.chmod(0o600)
    return path


@pytest.fixture
def nobody() -> str:
    """The URL of a port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


# --- serve: settings, data directory, database ---------------------------------------


def test_serve_with_a_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = kanri("serve", "--port", str(free_port()), env={"KANRI_DATA_DIR": str(blocker / "x")})
    run.one_error(ERROR, "data directory", str(blocker / "x"), "Not a directory")


@pytest.mark.parametrize(
    ("url", "says"),
    [("nonsense", "not a database URL"), ("mysqlx://db/kanri", "does not know (mysqlx)")],
)
def test_serve_with_a_malformed_database_url(tmp_path: Path, url: str, says: str) -> None:
    env = {"KANRI_DATA_DIR": str(tmp_path / "data"), "KANRI_DATABASE_URL": url}
    run = kanri("serve", "--port", str(free_port()), env=env)
    run.one_error(USAGE, "KANRI_DATABASE_URL", says)


def test_serve_with_postgresql_down(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://kanri:secret-pw@127.0.0.1:{free_port()}/kanri"
    env = {"KANRI_DATA_DIR": str(tmp_path / "data"), "KANRI_DATABASE_URL": url}
    run = kanri("serve", "--port", str(free_port()), env=env)
    line = run.one_error(ERROR, "refused")
    assert "secret-pw" not in line


def test_serve_with_an_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'kanri.db'}"
    env = {"KANRI_DATA_DIR": str(tmp_path / "data"), "KANRI_DATABASE_URL": url}
    kanri("serve", "--port", str(free_port()), env=env).one_error(ERROR, "database")


# --- serve: where it listens, checked before a manager starts ------------------------


def test_serve_on_a_taken_port_starts_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = kanri("serve", "--port", str(port), env={"KANRI_DATA_DIR": str(data)})
    run.one_error(USAGE, f"port {port} is in use", "--port")
    assert not data.exists()  # no manager was made: it would have created the directory


@pytest.mark.parametrize(
    ("host", "says"), [("999.1.1.1", "not an address"), ("192.0.2.1", "not one of")]
)
def test_serve_on_an_address_it_cannot_listen_on(tmp_path: Path, host: str, says: str) -> None:
    data = tmp_path / "data"
    run = kanri(
        "serve", "--host", host, "--port", str(free_port()), env={"KANRI_DATA_DIR": str(data)}
    )
    run.one_error(USAGE, host, says, "--host")
    assert not data.exists()


def test_demo_on_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = kanri("demo", "--data-dir", str(tmp_path / "demo"), "--lab-port", str(port))
    run.one_error(USAGE, f"port {port} is in use", "--lab-port")


def test_demo_whose_simulated_lab_cannot_start(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    data.mkdir(mode=0o700)
    (data / "lab").write_text("")  # where the lab's directory should go
    run = kanri(
        "demo", "--data-dir", str(data), "--port", str(free_port()),
        "--lab-port", str(free_port()),
    )  # fmt: skip
    # after its progress line, one error line and no traceback
    assert run.code == ERROR, run.err
    assert "Traceback" not in run.err
    last = run.err.strip().splitlines()[-1]
    assert last.startswith("error: the simulated lab did not start: "), run.err


# --- the API's URL and token ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://[::1", "is not a URL"),
        ("127.0.0.1:18700", "must be http:// or https://"),
        ("localhost:8642", "must be http:// or https://"),
        ("ftp://127.0.0.1", "must be http:// or https://"),
    ],
)
def test_a_malformed_api_url(url: str, says: str) -> None:
    run = kanri("machine", "list", env={"KANRI_URL": url, "KANRI_TOKEN": "t0k"})
    run.one_error(USAGE, "KANRI_URL", says)


def test_a_token_file_that_is_a_directory(tmp_path: Path, nobody: str) -> None:
    run = kanri("--url", nobody, "--token-file", str(tmp_path), "machine", "list")
    run.one_error(USAGE, str(tmp_path), "Is a directory")


def test_a_token_file_that_is_not_text(tmp_path: Path, nobody: str) -> None:
    path = private_file(tmp_path / "token", b"\xff\xfe\x00token")
    run = kanri("--url", nobody, "--token-file", str(path), "machine", "list")
    run.one_error(USAGE, str(path), "not text")


def test_an_empty_token_file(tmp_path: Path, nobody: str) -> None:
    path = private_file(tmp_path / "token", b"\n")
    run = kanri("--url", nobody, "--token-file", str(path), "machine", "list")
    run.one_error(USAGE, str(path), "empty")


def test_a_missing_token_file_given_by_option(tmp_path: Path, nobody: str) -> None:
    path = tmp_path / "no-such-token"
    run = kanri("--url", nobody, "--token-file", str(path), "machine", "list")
    run.one_error(USAGE, str(path), "does not exist")


def test_no_token_file_in_the_data_dir_is_still_the_api(tmp_path: Path, nobody: str) -> None:
    run = kanri("--url", nobody, "machine", "list", env={"KANRI_DATA_DIR": str(tmp_path)})
    run.one_error(API, "kanri serve")


@pytest.mark.parametrize("token", ["é", "two words", "tab\tin"])
def test_a_token_that_cannot_go_into_a_header(token: str, nobody: str) -> None:
    run = kanri("--url", nobody, "--token", token, "machine", "list")
    run.one_error(USAGE, "--token", "printable ASCII")
    run = kanri("--url", nobody, "machine", "list", env={"KANRI_TOKEN": token})
    run.one_error(USAGE, "KANRI_TOKEN", "printable ASCII")


def test_a_token_file_readable_by_others_is_warned_about(tmp_path: Path, nobody: str) -> None:
    path = tmp_path / "token"
    path.write_text("t0k\n")
    path.chmod(0o644)
    run = kanri("--url", nobody, "--token-file", str(path), "machine", "list")
    warning, failure = run.err.strip().splitlines()
    assert warning == (
        f"warning: the API token file {path} can be read by others (mode 0644); chmod 600 {path}"
    )
    assert run.code == API  # the token was still used: nothing listens there
    assert "cannot reach the kanri API" in failure


# --- the BMC password -------------------------------------------------------------------


def test_a_password_file_that_is_not_utf8(tmp_path: Path, nobody: str) -> None:
    path = private_file(tmp_path / "pw", b"p\xe4ss\n")
    args = ["--url", nobody, "--token", "t0k", "machine", "add", "m1"]
    args += ["--bmc", "https://10.0.0.5", "--user", "admin", "--password-file", str(path)]
    kanri(*args).one_error(USAGE, str(path), "not UTF-8")


def test_a_password_on_stdin_that_is_not_utf8(nobody: str) -> None:
    args = ["--url", nobody, "--token", "t0k", "machine", "add", "m1"]
    args += ["--bmc", "https://10.0.0.5", "--user", "admin", "--password-file", "-"]
    kanri(*args, stdin=b"p\xe4ss\n").one_error(USAGE, "standard input", "not UTF-8")


def test_a_password_file_that_is_a_directory(tmp_path: Path, nobody: str) -> None:
    args = ["--url", nobody, "--token", "t0k", "machine", "add", "m1"]
    args += ["--bmc", "https://10.0.0.5", "--user", "admin", "--password-file", str(tmp_path)]
    kanri(*args).one_error(USAGE, str(tmp_path), "Is a directory")


# --- what a running manager leaves on disk -------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _assert_owner_only(data: Path) -> None:
    assert _mode(data) == 0o700
    files = sorted(p for p in data.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"kanri.db", "secret.key", "admin.token"}
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: oct(0o600) for p in files}


def test_serve_keeps_its_files_owner_only(kanri_server: KanriServer, cli: Cli) -> None:
    assert cli("machine", "list").code == 0  # the database has been written to
    _assert_owner_only(kanri_server.data_dir)


def test_serve_tightens_an_existing_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    server = KanriServer(data)
    server.start()
    try:
        _assert_owner_only(data)
    finally:
        server.stop()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    data, port = tmp_path / "demo", free_port()
    log = tmp_path / "demo.log"
    args = ["demo", "--data-dir", str(data), "--port", str(port), "--lab-port", str(free_port())]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kanri", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("KANRI_")},
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(f"kanri demo did not answer: {log.read_text()}")
        yield data, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_demo_keeps_its_data_dir_owner_only(demo: tuple[Path, str]) -> None:
    data, _ = demo
    assert _mode(data) == 0o700
    assert _mode(data / "lab") == 0o700
    for name in ("kanri.db", "secret.key", "admin.token"):
        assert _mode(data / name) == 0o600, name


def test_help_lists_the_exit_codes() -> None:
    run = kanri("--help")
    assert run.code == 0
    text = " ".join(run.out.replace("│", " ").split())
    assert "6 API unreachable or token refused, 7 timed out" in text
    assert "the API or the lab did not answer in time" in text


def test_a_second_manager_on_one_data_dir_is_refused(kanri_server: KanriServer) -> None:
    assert kanri_server.process is not None
    env = {"KANRI_DATA_DIR": str(kanri_server.data_dir)}
    run = kanri("serve", "--port", str(free_port()), env=env)
    run.one_error(4, "another kanri manager", f"pid {kanri_server.process.pid}", "--data-dir")
