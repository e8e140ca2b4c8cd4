"""The manager on a real PostgreSQL server, driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.e2e.conftest import Cli, KanriServer
from tests.peers.postgres import PostgresServer


def test_serve_on_postgresql(postgres_server: PostgresServer, tmp_path: Path) -> None:
    database = postgres_server.create_database()
    url = postgres_server.url(database)
    server = KanriServer(tmp_path / "data", database_url=url)
    server.start()
    try:
        cli = Cli(server.url, server.data_dir)
        password = tmp_path / "pw"
        password.write_text("pg-e2e-secret\n")
        bmc = ["--bmc", "fake://pgrack?systems=2", "--user", "admin", "--driver", "fake"]
        added = cli("machine", "add", "pgrack", *bmc, "--password-file", str(password))
        assert added.code == 0, added.err
        assert cli("power", "on", "pgrack-1", "--wait", "--timeout", "10").code == 0
        listed = json.loads(cli("machine", "list", "-o", "json").out)
        assert {m["name"]: m["power"] for m in listed} == {"pgrack-1": "on", "pgrack-2": "off"}
    finally:
        server.stop()
    # what the CLI saw is what PostgreSQL holds, and the password is not in it in clear
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        rows = conn.execute("SELECT name, power FROM machines ORDER BY name").fetchall()
        assert rows == [("pgrack-1", "on"), ("pgrack-2", "off")]
        secret = conn.execute("SELECT password_encrypted FROM bmcs").fetchone()
        assert secret is not None
        assert b"pg-e2e-secret" not in bytes(secret[0])
    postgres_server.drop_database(database)
