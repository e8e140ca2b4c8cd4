"""The foundation's whole flow through the CLI: a real manager, a real Redfish emulator.

add → list → power on/off (--wait) → status, checked against the emulator's own view, and
every bad input the issue names, each one line and one exit code with nothing stored.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from kanri.lab.sushy_emulator import SushyEmulator
from tests.e2e.conftest import BMC_PASSWORD, BMC_USER, Cli, KanriServer


def _emulator_power(emu: SushyEmulator, system_id: str) -> str:
    answer = httpx.get(
        f"{emu.url}/redfish/v1/Systems/{system_id}", auth=(BMC_USER, BMC_PASSWORD), timeout=5
    )
    answer.raise_for_status()
    return str(answer.json()["PowerState"])


def _machines(cli: Cli) -> list[dict[str, object]]:
    listed = cli("machine", "list", "-o", "json")
    assert listed.code == 0, listed.err
    machines: list[dict[str, object]] = json.loads(listed.out)
    return machines


def test_add_list_power_off_status_on(
    cli: Cli, emulator: SushyEmulator, password_file: Path
) -> None:
    added = cli(
        "machine", "add", "rack", "--bmc", emulator.url, "--user", BMC_USER,
        "--password-file", str(password_file), "-o", "json",
    )  # fmt: skip
    assert added.code == 0, added.err
    machines = _machines(cli)
    assert len(machines) == 3
    by_uuid = {str(m["system_id"]): m for m in machines}
    for system in emulator.systems:
        machine = by_uuid[system.uuid]
        assert machine["name"] == f"rack-{system.uuid}"
        assert [n["mac"] for n in machine["nics"]] == list(system.macs)  # type: ignore[attr-defined]
    assert BMC_PASSWORD not in added.out

    target = emulator.systems[0]
    name = f"rack-{target.uuid}"
    on = cli("power", "on", name, "--wait", "--timeout", "60")
    assert on.code == 0, on.err
    assert _emulator_power(emulator, target.uuid) == "On"
    status = cli("power", "status", name, "-o", "json")
    assert json.loads(status.out)[0]["power"] == "on"

    off = cli("power", "off", name, "--force", "--wait", "--timeout", "60")
    assert off.code == 0, off.err
    assert _emulator_power(emulator, target.uuid) == "Off"
    status = cli("power", "status", name, "-o", "json")
    assert json.loads(status.out)[0] == {
        "machine": name,
        "power": "off",
        "desired": "off",
        "reachable": True,
    }
    boot = cli("power", "boot", name, "--device", "pxe")
    assert boot.code == 0, boot.err
    answer = httpx.get(
        f"{emulator.url}/redfish/v1/Systems/{target.uuid}", auth=(BMC_USER, BMC_PASSWORD)
    ).json()
    assert answer["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    bad_device = cli("power", "boot", name, "--device", "floppy")
    assert bad_device.code == 2

    # the other systems were never touched
    assert _emulator_power(emulator, emulator.systems[1].uuid) == "Off"

    status = cli("status", "-o", "json")
    assert status.code == 0, status.err
    assert json.loads(status.out)["last_sweep"]["machines"] == 3

    renamed = cli("machine", "rename", name, "db1")
    assert renamed.code == 0, renamed.err
    assert cli("machine", "show", "db1", "-o", "json").code == 0
    removed = cli("machine", "remove", "db1", "--yes")
    assert removed.code == 0, removed.err
    assert len(_machines(cli)) == 2


def test_bad_input_gives_one_line_and_an_exit_code(
    cli: Cli, emulator: SushyEmulator, password_file: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    cases = [
        # (arguments, exit code, what the message must say)
        (["--bmc", emulator.url, "--password-file", str(wrong)], 5, "credentials rejected"),
        (["--bmc", "http://127.0.0.1:9", "--password-file", str(password_file)], 5, "refused"),
        (["--bmc", "not a url", "--password-file", str(password_file)], 2, "URL"),
        (["--bmc", "ftp://bmc.example", "--password-file", str(password_file)], 2, "URL"),
        (["--bmc", emulator.url, "--password-file", str(tmp_path / "none")], 2, "password file"),
    ]
    for extra, code, fragment in cases:
        result = cli("machine", "add", "box", "--user", BMC_USER, *extra)
        assert result.code == code, (extra, result.err)
        assert fragment in result.err, (extra, result.err)
        assert "Traceback" not in result.err
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert _machines(cli) == []

    missing = cli("power", "on", "ghost")
    assert missing.code == 3
    assert "no machine named 'ghost'" in missing.err
    bad_name = cli("machine", "add", "Bad_Name", "--bmc", emulator.url, "--user", BMC_USER,
                   "--password-file", str(password_file))  # fmt: skip
    assert bad_name.code == 2
    assert "name" in bad_name.err


def test_a_stopped_bmc_is_an_error_and_then_one_event(
    cli: Cli, kanri_server: KanriServer, password_file: Path, tmp_path: Path
) -> None:
    emu = SushyEmulator(systems=1, username=BMC_USER, password=BMC_PASSWORD,
                        workdir=tmp_path / "dying")  # fmt: skip
    with emu:
        added = cli("machine", "add", "solo", "--bmc", emu.url, "--user", BMC_USER,
                    "--password-file", str(password_file))  # fmt: skip
        assert added.code == 0, added.err
        emu.pause()  # the BMC stops answering
        status = cli("power", "status", "solo")
        assert status.code == 5
        assert "unreachable" in status.err or "refused" in status.err
        deadline = time.monotonic() + 30
        kinds: list[str] = []
        while time.monotonic() < deadline and "bmc.unreachable" not in kinds:
            time.sleep(0.5)
            events = json.loads(cli("event", "list", "-t", "solo", "-o", "json").out)
            kinds = [e["kind"] for e in events]
        assert kinds.count("bmc.unreachable") == 1
        listed = _machines(cli)
        assert listed[0]["reachable"] is False
        time.sleep(3)  # more failed polls: still one event
        events = json.loads(cli("event", "list", "-t", "solo", "-o", "json").out)
        assert [e["kind"] for e in events].count("bmc.unreachable") == 1


def test_power_changed_behind_kanris_back_is_a_drift_event(
    cli: Cli, emulator: SushyEmulator, password_file: Path
) -> None:
    target = emulator.systems[2]
    added = cli("machine", "add", "drifty", "--bmc", emulator.url, "--system", target.uuid,
                "--user", BMC_USER, "--password-file", str(password_file))  # fmt: skip
    assert added.code == 0, added.err
    # Off from the start, so 'off' sends nothing and no settling grace hides the drift.
    assert _emulator_power(emulator, target.uuid) == "Off"
    assert cli("power", "off", "drifty", "--wait").code == 0
    # someone else flips it at the BMC
    httpx.post(
        f"{emulator.url}/redfish/v1/Systems/{target.uuid}/Actions/ComputerSystem.Reset",
        json={"ResetType": "On"},
        auth=(BMC_USER, BMC_PASSWORD),
        timeout=5,
    ).raise_for_status()
    deadline = time.monotonic() + 60
    drift: list[dict[str, object]] = []
    while time.monotonic() < deadline and not drift:
        time.sleep(1)
        events = json.loads(cli("event", "list", "-t", "drifty", "-o", "json").out)
        drift = [e for e in events if e["kind"] == "power.drift"]
    assert drift, "no power.drift event within 60 s"
    assert drift[0]["details"] == {"observed": "on", "desired": "off"}


def test_the_api_unreachable_and_a_bad_token(cli: Cli, kanri_server: KanriServer) -> None:
    down = Cli("http://127.0.0.1:9", cli.data_dir)("machine", "list")
    assert down.code == 6
    assert "cannot reach the kanri API" in down.err
    bad = cli("--token", "nope", "machine", "list")
    assert bad.code == 6
    assert "refused the token" in bad.err
