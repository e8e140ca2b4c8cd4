"""TLS through the CLI: a BMC with a self-signed certificate (sushy-tools over HTTPS) is
refused by default, in one line that names the certificate, and accepted with --insecure,
which is then remembered for that machine's later power reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanri.lab.sushy_emulator import SushyEmulator
from tests.e2e.conftest import BMC_PASSWORD, BMC_USER, Cli
from tests.peers.sushy import forget_ca_bundles, running_emulator


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SushyEmulator]:
    with running_emulator(
        systems=1,
        username=BMC_USER,
        password=BMC_PASSWORD,
        workdir=tmp_path_factory.mktemp("e2e-tls-emulator"),
        tls=True,
    ) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_ca_bundles(monkeypatch)


def test_self_signed_bmc_is_refused_unless_insecure(
    cli: Cli, tls_emulator: SushyEmulator, password_file: Path
) -> None:
    add = ["machine", "add", "tls1", "--bmc", tls_emulator.url, "--user", BMC_USER,
           "--password-file", str(password_file)]  # fmt: skip

    refused = cli(*add)
    assert refused.code == 5, refused.err
    lines = refused.err.strip().splitlines()
    assert len(lines) == 1, refused.err
    assert "TLS certificate rejected: self-signed certificate" in lines[0]
    assert "Traceback" not in refused.err
    listed = cli("machine", "list", "-o", "json")
    assert listed.code == 0, listed.err
    assert json.loads(listed.out) == []

    accepted = cli(*add, "--insecure", "-o", "json")
    assert accepted.code == 0, accepted.err
    machines = json.loads(accepted.out)
    assert [(m["name"], m["system_id"]) for m in machines] == [
        ("tls1", tls_emulator.systems[0].uuid)
    ]

    # Later reads go through the stored opt-out, not through the add command's flag.
    status = cli("power", "status", "tls1", "-o", "json")
    assert status.code == 0, status.err
    assert json.loads(status.out)[0] == {
        "machine": "tls1",
        "power": "off",
        "desired": None,
        "reachable": True,
    }
