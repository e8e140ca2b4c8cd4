"""A real ``kanri serve`` in its own process and data directory, and the CLI to drive it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from kanri.lab.sushy_emulator import SushyEmulator, free_port
from tests.peers.sushy import running_emulator


@dataclass
class Cli:
    url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        env = {
            **os.environ,
            "KANRI_URL": self.url,
            "KANRI_DATA_DIR": str(self.data_dir),
            "COLUMNS": "200",
            **self.env,
        }
        env.pop("KANRI_TOKEN", None)
        done = subprocess.run(
            [sys.executable, "-m", "kanri", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


@dataclass
class Result:
    code: int
    out: str
    err: str


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
