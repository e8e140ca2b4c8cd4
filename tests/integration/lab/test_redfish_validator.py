"""DMTF's redfish-service-validator against the lab: no failures, and every warning it
gives is one docs/lab/validator.md lists with its reason.

The validator cannot download schemas here: it reads DMTF's CSDL from ../shared and the
lab's own OEM schema (src/kanri/lab/schemas) from one folder made for the run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.lab.conftest import ServeLab

REPO = Path(__file__).resolve().parents[3]
CSDL = REPO.parent / "shared" / "redfish" / "csdl"
OEM = REPO / "src" / "kanri" / "lab" / "schemas"
DOC = REPO / "docs" / "lab" / "validator.md"
VALIDATOR = Path(sys.executable).parent / "rf_service_validator"

# Every kind of resource the lab serves: bare and hypervisor machines, partitions (one
# running), volumes and host groups, a SEL entry.
LAB = {
    "machines": [
        {"id": "blade-01", "power": "On"},
        {"id": "blade-02"},
        {"id": "blade-03", "mode": "hypervisor", "cores": 16, "memory_gib": 64, "power": "On"},
    ],
    "partitions": [
        {"id": "lpar-1", "host": "blade-03", "cores": 4, "memory_gib": 8, "ports": ["fc0:shared"],
         "power": "On"},
        {"id": "lpar-2", "host": "blade-03", "cores": 2, "memory_gib": 8, "ports": ["fc1"]},
    ],
    "volumes": [{"id": "vol-1", "size_gib": 1}, {"id": "vol-2", "size_gib": 1}],
    "host_groups": [
        {"id": "hg-1", "initiators": ["blade-01/fc0"], "luns": {0: "vol-1"}},
        {"id": "hg-2", "initiators": ["lpar-1/fc0"], "luns": {0: "vol-2"}},
    ],
}  # fmt: skip


def documented_warnings() -> list[str]:
    """The `warning` column of the table in docs/lab/validator.md."""
    text = DOC.read_text()
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE)


@pytest.fixture
def schema_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    folder.mkdir()
    for source in [*CSDL.glob("*.xml"), *OEM.glob("*.xml")]:
        (folder / source.name).symlink_to(source)
    return folder


def test_the_dmtf_validator_finds_no_failures(
    serve_lab: ServeLab, schema_folder: Path, tmp_path: Path
) -> None:
    assert CSDL.is_dir(), f"DMTF schemas missing: {CSDL}"
    server = serve_lab(LAB)
    assert server.lab is not None
    server.lab.log_sel(server.lab.machine("blade-02"), "Warning", "Fan 2 slow", "KanriLab.1.0.Nmi")
    logs = tmp_path / "logs"
    run = subprocess.run(
        [
            str(VALIDATOR), "--rhost", server.url, "-u", "admin", "-p", "password",
            "--schema_directory", str(schema_folder), "--logdir", str(logs),
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    table = re.search(r"\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", run.stdout)
    assert table, f"no result table in the validator's output:\n{run.stdout[-3000:]}{run.stderr}"
    passed, _warned, failed, _ = (int(n) for n in table.groups())
    (log,) = logs.glob("*/*.log")
    lines = log.read_text().splitlines()
    failures = [line.split(" - ", 2)[-1] for line in lines if " - FAIL - " in line]
    assert failed == 0, "validator failures:\n" + "\n".join(failures[:40])
    assert passed > 500  # it really walked the tree
    warnings = [line.split(" - WARN - ", 1)[1] for line in lines if " - WARN - " in line]
    known = documented_warnings()
    unexplained = [w for w in warnings if not any(k in w for k in known)]
    assert not unexplained, "warnings not in docs/lab/validator.md:\n" + "\n".join(unexplained)
    stale = [k for k in known if not any(k in w for w in warnings)]
    assert not stale, f"docs/lab/validator.md lists warnings the validator no longer gives: {stale}"
