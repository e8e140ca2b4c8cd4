"""A real ``kanri serve`` in its own process and data directory, the CLI to drive it, the lab
its module describes (``LAB``) and peers the rules' actions reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from kanri.lab.sushy_emulator import SushyEmulator, free_port
from tests.peers.notify import WebhookServer, webhook_server
from tests.peers.sushy import running_emulator
from tests.waiting import wait_for


@dataclass
class Cli:
    url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """What a ``kanri`` process of this CLI runs with: this manager, its admin token
        read from the data directory (never one from the test's own environment)."""
        env = {
            **os.environ,
            "KANRI_URL": self.url,
            "KANRI_DATA_DIR": str(self.data_dir),
            "COLUMNS": "200",
            **self.env,
        }
        env.pop("KANRI_TOKEN", None)
        return env

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "kanri", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environment(),
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def json(self, *args: str) -> Any:
        """``kanri ARGS -o json``, which must succeed: what it printed, parsed."""
        done = self(*args, "-o", "json")
        assert done.code == 0, done.err
        return json.loads(done.out)


@dataclass
class Result:
    code: int
    out: str
    err: str


def assert_one_error(done: Result, code: int, *words: str) -> None:
    """The command failed with exit ``code`` and said so in one line, naming ``words``."""
    lines = done.err.strip().splitlines()
    assert done.code == code, done.err + done.out
    assert len(lines) == 1, done.err
    assert lines[0].startswith("error: "), done.err
    for word in words:
        assert word in lines[0], lines[0]


class KanriServer:
    def __init__(
        self, data_dir: Path, sync_interval: float = 1.0, database_url: str | None = None
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.sync_interval = sync_interval
        self.process: subprocess.Popen[bytes] | None = None
        self.args: list[str] = []  # more ``kanri serve`` options

    def start(self) -> None:
        env = {**os.environ, "KANRI_DATA_DIR": str(self.data_dir)}
        env.pop("KANRI_DATABASE_URL", None)
        if self.database_url:
            env["KANRI_DATABASE_URL"] = self.database_url
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kanri",
                    "serve",
                    "--port",
                    str(self.port),
                    "--sync-interval",
                    str(self.sync_interval),
                    *self.args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kanri serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"kanri serve did not answer: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    @property
    def token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()


PAUSE = "KANRI_TEST_PAUSE_AFTER_STEP"  # "KIND:STEP:WHEN": the job runner stops there


class Managers:
    """``kanri serve`` runs one after another on one data directory, each started with or
    without the pause hook, killed with -9 or stopped."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data_dir = tmp_path / "data"
        self.monkeypatch = monkeypatch
        self.current: KanriServer | None = None

    def start(self, pause: str | None = None) -> Cli:
        if pause:
            self.monkeypatch.setenv(PAUSE, pause)
        else:
            self.monkeypatch.delenv(PAUSE, raising=False)
        self.current = KanriServer(self.data_dir)
        self.current.start()
        return Cli(self.current.url, self.data_dir)

    def wait_paused(self, step: int) -> None:
        assert self.current is not None
        log = self.current.log
        try:
            wait_for(lambda: f"paused after step {step} ".encode() in log.read_bytes(), 60, None)
        except AssertionError:
            pytest.fail(f"no pause after step {step}; log:\n{log.read_text()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown, no journal write."""
        if self.current is not None and self.current.process is not None:
            self.current.process.kill()
            self.current.process.wait(timeout=30)
        self.current = None

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
        self.current = None


@pytest.fixture
def managers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Managers]:
    runs = Managers(tmp_path, monkeypatch)
    try:
        yield runs
    finally:
        runs.kill()


@pytest.fixture
def kanri_server(tmp_path: Path) -> Iterator[KanriServer]:
    server = KanriServer(tmp_path / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli(kanri_server: KanriServer) -> Cli:
    return Cli(kanri_server.url, kanri_server.data_dir)


@pytest.fixture
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LabServer]:
    """The lab that the test module's ``LAB`` describes, served on its own thread."""
    with LabServer(LabConfig.from_dict(request.module.LAB), tmp_path / "lab") as server:
        yield server


@pytest.fixture
def hook() -> Iterator[WebhookServer]:
    """A webhook receiver on loopback: what rules' webhook actions POST."""
    with webhook_server() as server:
        yield server


BMC_USER = "admin"
BMC_PASSWORD = "e2e-bmc-pw"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SushyEmulator]:
    """sushy-tools with three systems behind one endpoint, password-protected."""
    with running_emulator(
        systems=3,
        username=BMC_USER,
        password=BMC_PASSWORD,
        workdir=tmp_path_factory.mktemp("e2e-emulator"),
    ) as emulator:
        yield emulator


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "bmc-password"
    path.write_text(BMC_PASSWORD + "\n")
    path.chmod(0o600)
    return path
