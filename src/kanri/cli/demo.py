"""kanri demo: the manager on SQLite with a simulated set of Redfish machines.

Until the simulated lab lands, the machines are served by the sushy-tools Redfish
emulator; the manager registers them through its own public API, exactly as an operator
would, and drives them with its real Redfish driver.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from kanri.cli import logs
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.output import err, out, table
from kanri.cli.runner import check_listen, prepare_data, restrict_new_files, run_server

if TYPE_CHECKING:  # the manager's parts load only when the demo runs, not for every command
    import uvicorn

    from kanri.lab.sushy_emulator import EmulatedSystem

# Stable identities, so a restarted demo finds the machines it registered before.
_NAMESPACE = uuid.UUID("6b616e72-6900-4000-8000-64656d6f0000")
DEMO_MACHINES = [
    ("web-1", "On"),
    ("web-2", "On"),
    ("web-3", "Off"),
    ("db-1", "On"),
    ("db-2", "Off"),
    ("batch-1", "Off"),
    ("spare-1", "Off"),
    ("spare-2", "Off"),
]
BMC_USER, BMC_PASSWORD = "admin", "password"  # printed at start, as a lab's should be


def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="where the demo keeps its database and state")
    ] = Path.home() / ".local" / "share" / "kanri-demo",
    port: Annotated[int, typer.Option(help="port of the kanri API", min=1, max=65535)] = 8642,
    bmc_port: Annotated[
        int, typer.Option(help="port of the simulated BMC", min=1, max=65535)
    ] = 8001,
) -> None:
    """Start simulated machines and the manager, register them, and show what to try.

    Ctrl-C stops both. Registrations survive a restart in the data directory.
    """
    restrict_new_files()  # first: the data directory holds secrets (see there)
    import uvicorn

    from kanri.api.app import create_app
    from kanri.engine.manager import Manager, ManagerOptions
    from kanri.engine.sync import SyncOptions
    from kanri.lab.sushy_emulator import EmulatedSystem, EmulatorError, SushyEmulator
    from kanri.settings import Settings

    check_listen("127.0.0.1", port, "kanri API", "--port")
    check_listen("127.0.0.1", bmc_port, "simulated BMC", "--bmc-port")
    settings = Settings.from_env(data_dir)
    # The data directory first, owner-only, and the emulator's workdir inside it after.
    prepare_data(settings)
    data_dir = settings.data_dir
    logs.configure("warning")
    manager = Manager(settings, ManagerOptions(sync=SyncOptions(interval=5.0)))
    systems = [
        EmulatedSystem(
            uuid=str(uuid.uuid5(_NAMESPACE, name)),
            name=name,
            macs=(f"52:54:00:6b:00:{i:02x}",),
            power_state=power,
        )
        for i, (name, power) in enumerate(DEMO_MACHINES, 1)
    ]
    emulator = SushyEmulator(
        systems, username=BMC_USER, password=BMC_PASSWORD, port=bmc_port, workdir=data_dir / "bmc"
    )
    err.print(f"starting the simulated BMC on {emulator.url} ({len(systems)} machines)...")
    try:
        emulator.start()
    except (EmulatorError, OSError) as exc:
        manager.stop()
        raise CliError(f"the simulated BMC did not start: {exc}", ExitCode.ERROR) from None
    try:
        server = uvicorn.Server(
            uvicorn.Config(create_app(manager), host="127.0.0.1", port=port, log_level="warning")
        )
        api_url = f"http://127.0.0.1:{port}"
        threading.Thread(
            target=_register,
            args=(server, api_url, manager.admin_token, emulator.url, systems, data_dir),
            daemon=True,
        ).start()
        run_server(server)  # until Ctrl-C; the manager stops with the app
    finally:
        emulator.pause()  # keep its directory: the same identities come back next time
        err.print("demo stopped")


def _register(
    server: uvicorn.Server,
    api_url: str,
    token: str,
    bmc_url: str,
    systems: list[EmulatedSystem],
    data_dir: Path,
) -> None:
    """Register the demo's machines through the public API, once the API answers."""
    while not server.started:
        time.sleep(0.1)
    http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    known = {m["name"] for m in http.get("/api/v1/machines").json()}
    for system in systems:
        if system.name in known:
            continue
        answer = http.post(
            "/api/v1/machines",
            json={
                "name": system.name,
                "bmc_url": bmc_url,
                "username": BMC_USER,
                "password": BMC_PASSWORD,
                "system_id": system.uuid,
            },
        )
        if answer.status_code != 201:
            err.print(f"could not register {system.name}: {answer.json().get('detail')}")
    machines = http.get("/api/v1/machines").json()
    table(
        machines,
        [
            ("NAME", lambda m: m["name"]),
            ("POWER", lambda m: m["power"]),
            ("HEALTH", lambda m: m["health"]),
            ("MAC", lambda m: m["nics"][0]["mac"] if m["nics"] else None),
        ],
        title=f"kanri demo: {len(machines)} machines",
    )
    out.print(
        f"""
  kanri API   {api_url}   (OpenAPI: {api_url}/docs)
  BMC         {bmc_url}   (Redfish, user {BMC_USER}, password {BMC_PASSWORD})
  data        {data_dir}

In another terminal:
  export PATH="$PWD/.venv/bin:$PATH" KANRI_URL={api_url} KANRI_DATA_DIR={data_dir}
  kanri machine list
  kanri power on web-3 --wait
  kanri power off web-1 --force --wait
  kanri machine show db-1
  kanri event list

Ctrl-C stops the demo."""
    )
