"""A real PostgreSQL server for the test session, in a temporary directory, on loopback.

``PostgresServer.start()`` runs ``initdb`` and ``pg_ctl start`` (as the ``postgres`` user when
we are root: PostgreSQL refuses to run as root), ``create_database()`` gives each test its own
database, ``stop()`` shuts the server down and removes every file. No skipping: a missing
PostgreSQL is an error that says how to install it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

SETUP_HINT = "run scripts/setup (it installs Debian's 'postgresql' package)"


class PeerUnavailable(RuntimeError):
    """The peer software is missing or would not start."""


def find_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb`` and ``pg_ctl``."""
    found = [
        Path(p).parent
        for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if Path(p).with_name("pg_ctl").exists()
    ]
    if not found:
        on_path = shutil.which("initdb")
        if on_path and shutil.which("pg_ctl"):
            return Path(on_path).parent
        raise PeerUnavailable(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on "
            f"PATH); the store tests run against a real server: {SETUP_HINT}"
        )

    def version(bin_dir: Path) -> tuple[int, ...]:
        name = bin_dir.parent.name
        return tuple(int(x) for x in name.split(".") if x.isdigit()) or (0,)

    return max(found, key=version)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster; connect as superuser ``postgres`` over TCP, no password."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self.host = "127.0.0.1"
        self.port = 0
        self.user = "postgres"
        self._base: Path | None = None
        self._running = False
        # PostgreSQL will not run as root; as root we become the postgres user for its commands.
        self._as_postgres = os.geteuid() == 0

    @property
    def base(self) -> Path:
        if self._base is None:
            raise PeerUnavailable("the PostgreSQL server was not started")
        return self._base

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def _run(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    def _must(self, what: str, args: Sequence[str]) -> None:
        result = self._run(args)
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise PeerUnavailable(
                f"PostgreSQL {what} failed ({result.returncode}): {' '.join(args)}\n"
                f"{result.stdout}{result.stderr}{log[-3000:]}"
            )

    def start(self) -> None:
        # Short path in /tmp itself: pytest's tmp dirs are root-only (0700), which the postgres
        # user cannot enter, and a Unix socket path must stay under ~100 bytes.
        self._base = Path(
            tempfile.mkdtemp(prefix="kanri-pg-", dir="/tmp" if self._as_postgres else None)
        )
        sock_dir = self.base / "sock"
        sock_dir.mkdir()
        if self._as_postgres:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PeerUnavailable(
                    f"running as root but there is no 'postgres' user: {SETUP_HINT}"
                ) from None
            for path in (self.base, sock_dir):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self._must(
            "initdb",
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                self.user,
                "-E",
                "UTF8",
                "--no-locale",  # the host's LANG may name a locale that is not generated
                "--no-sync",
                "--no-instructions",
            ],
        )
        for attempt in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            options = (
                f"-c listen_addresses={self.host} -p {self.port} -k {sock_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            args = [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            ]
            if self._run(args).returncode == 0:
                self._running = True
                return
            if attempt == 2:
                self._must("start", args)

    def stop(self) -> None:
        if self._base is None:
            return
        if self._running:
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]
            )
            self._running = False
        shutil.rmtree(self._base, ignore_errors=True)
        self._base = None

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3 driver) for ``database``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        )

    def create_database(self, prefix: str = "t") -> str:
        """Create an empty database with a fresh name; return its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, cutting off any connection a test forgot to close."""
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
