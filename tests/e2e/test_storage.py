"""Storage through the CLI: a real ``kanri serve`` registers a served lab's SAN as a
storage array and lists its volumes live, with every failure one line and one exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli

WWPN = "20:00:00:6b:00:01:00:00"  # blade-01/fc0
LAB = {
    "scale": 50.0,
    "machines": [{"id": "blade-01"}, {"id": "blade-02"}],
    "volumes": [{"id": "vol-web-1", "size_gib": 40}, {"id": "vol-spare", "size_gib": 1}],
    "host_groups": [
        {"id": "hg-blade-01", "initiators": ["blade-01/fc0"], "luns": {0: "vol-web-1"}}
    ],
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    with LabServer(LabConfig.from_dict(LAB), tmp_path / "lab") as server:
        yield server


@pytest.fixture
def lab_password(tmp_path: Path) -> Path:
    path = tmp_path / "array-password"
    path.write_text("password\n")
    path.chmod(0o600)
    return path


def _json(cli: Cli, *args: str) -> Any:
    done = cli(*args, "-o", "json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def test_register_the_lab_san_and_list_its_volumes(
    cli: Cli, lab: LabServer, lab_password: Path, tmp_path: Path
) -> None:
    added = cli("storage", "add", "san", lab.url, "--username", "admin",
                "--password-file", str(lab_password))  # fmt: skip
    assert added.code == 0, added.err
    assert "san" in added.out
    assert lab.url in added.out
    assert [s["name"] for s in _json(cli, "storage", "list")] == ["san"]

    volumes = {v["id"]: v for v in _json(cli, "volume", "list")}
    assert set(volumes) == {"vol-web-1", "vol-spare"}
    web = volumes["vol-web-1"]
    assert web["capacity_bytes"] == 40 * 1024**3
    assert web["mappings"] == [{"host_group": "hg-blade-01", "lun": 0, "initiators": [WWPN]}]
    assert volumes["vol-spare"]["mappings"] == []

    table = cli("volume", "list", "--storage", "san")
    assert table.code == 0, table.err
    line = next(row for row in table.out.splitlines() if "vol-web-1" in row)
    assert "40 GiB" in line
    assert "hg-blade-01" in line
    assert WWPN in line

    # live: a volume made on the array shows at once, nothing cached in between
    made = httpx.post(
        f"{lab.url}/redfish/v1/Storage/SAN/Volumes",
        json={"Id": "vol-new", "CapacityBytes": 1024**3},
        auth=("admin", "password"),
        timeout=10,
    )
    assert made.status_code == 201
    assert "vol-new" in {v["id"] for v in _json(cli, "volume", "list", "--storage", "san")}

    shown = cli("storage", "show", "san")
    assert shown.code == 0, shown.err
    assert "3, 42 GiB" in shown.out


def test_bad_registrations_store_nothing(cli: Cli, lab: LabServer, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    refused = cli("storage", "add", "san", lab.url, "--username", "admin",
                  "--password-file", str(wrong))  # fmt: skip
    assert refused.code == 5
    assert "credentials rejected" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    bad_driver = cli("storage", "add", "san", lab.url, "--username", "admin",
                     "--password-file", str(wrong), "--driver", "nope")  # fmt: skip
    assert bad_driver.code == 2
    assert "unknown storage driver 'nope'" in bad_driver.err
    no_password = cli("storage", "add", "san", lab.url, "--username", "admin")
    assert no_password.code == 2
    assert _json(cli, "storage", "list") == []


def test_remove_asks_and_an_array_that_went_away_is_one_line(
    cli: Cli, lab: LabServer, lab_password: Path
) -> None:
    added = cli("storage", "add", "san", lab.url, "--username", "admin",
                "--password-file", str(lab_password))  # fmt: skip
    assert added.code == 0, added.err
    lab.stop()
    gone = cli("volume", "list", "--storage", "san")
    assert gone.code == 5
    assert gone.err.startswith("error: ")
    assert len(gone.err.strip().splitlines()) == 1
    shown = cli("storage", "show", "san")  # what kanri knows, and a failure
    assert shown.code == 5
    assert lab.url in shown.out
    assert "did not tell its volumes" in shown.err
    everything = cli("volume", "list")  # the others would still be listed
    assert everything.code == 5
    assert "san: " in everything.err

    unasked = cli("storage", "remove", "san")
    assert unasked.code == 2
    assert "--yes" in unasked.err
    assert cli("storage", "remove", "san", "--yes").code == 0
    assert cli("storage", "show", "san").code == 3
    assert cli("volume", "list", "--storage", "san").code == 3
