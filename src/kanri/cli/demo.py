"""kanri demo: the manager on SQLite with the simulated lab.

The lab (a blade enclosure behind one Redfish endpoint, and a storage array) runs in this
process; the manager registers its machines, partitions and array through its own public
API, exactly as an operator would, and drives them with its real drivers.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from kanri.cli import logs
from kanri.cli.errors import CliError, ExitCode
from kanri.cli.lab import MAX_SCALE
from kanri.cli.output import err, out, table
from kanri.cli.runner import check_listen, prepare_data, restrict_new_files, run_server

if TYPE_CHECKING:  # the manager's parts load only when the demo runs, not for every command
    import uvicorn

    from kanri.lab.server import LabServer

ARRAY_NAME = "array-1"


def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="where the demo keeps its database and lab state")
    ] = Path.home() / ".local" / "share" / "kanri-demo",
    port: Annotated[int, typer.Option(help="port of the kanri API", min=1, max=65535)] = 8642,
    lab_port: Annotated[
        int, typer.Option(help="port of the simulated lab (Redfish)", min=1, max=65535)
    ] = 8001,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="a lab.yaml of your own instead of the default 10-machine lab"
        ),
    ] = None,
    scale: Annotated[
        float | None,
        typer.Option(
            help="lab seconds per real second: 10 makes a 10 s boot take 1 s",
            min=0.01,
            max=MAX_SCALE,
        ),
    ] = None,
) -> None:
    """Start the simulated lab and the manager, register the lab, and show what to try.

    The default lab is one blade enclosure of 10 machines: 4 bare servers booting their own
    SAN volumes, 2 hypervisor hosts with 7 partitions, 2 standbys and 2 more, plus a
    storage array. Ctrl-C stops both. Registrations and the lab's state survive a restart
    in the data directory.
    """
    restrict_new_files()  # first: the data directory holds secrets (see there)
    import uvicorn

    from kanri.api.app import create_app
    from kanri.engine.intake import IntakeOptions
    from kanri.engine.manager import Manager, ManagerOptions
    from kanri.engine.monitor import MonitorOptions
    from kanri.engine.sync import SyncOptions
    from kanri.lab import layouts
    from kanri.lab.config import LabConfig, LabConfigError
    from kanri.lab.server import LabServer, LabServerError
    from kanri.settings import Settings

    try:
        lab_config = LabConfig.load(config) if config else layouts.load("demo")
    except LabConfigError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    if scale is not None:
        lab_config.scale = scale
    check_listen("127.0.0.1", port, "kanri API", "--port")
    check_listen("127.0.0.1", lab_port, "simulated lab", "--lab-port")
    settings = Settings.from_env(data_dir)
    prepare_data(settings)  # the data directory first, owner-only; the lab's inside it
    data_dir = settings.data_dir
    logs.configure("warning")
    lab = LabServer(lab_config, data_dir / "lab", port=lab_port)
    err.print(f"starting the simulated lab on {lab.url} ({len(lab_config.machines)} machines)...")
    try:
        lab.start()
    except (LabServerError, LabConfigError, OSError) as exc:
        raise CliError(f"the simulated lab did not start: {exc}", ExitCode.ERROR) from None
    try:
        # In here: a manager that cannot start (a newer or unreachable database) must
        # still stop the lab, which saves its state.
        # The lab pushes its events to the manager, as BMCs on a management network would.
        options = ManagerOptions(
            sync=SyncOptions(interval=5.0),
            monitor=MonitorOptions(interval=10.0),
            intake=IntakeOptions(push_url=f"http://127.0.0.1:{port}"),
        )
        manager = Manager(settings, options)
        server = uvicorn.Server(
            uvicorn.Config(create_app(manager), host="127.0.0.1", port=port, log_level="warning")
        )
        api_url = f"http://127.0.0.1:{port}"
        assert lab.lab is not None
        with lab.lab.lock:
            system_ids = [s.id for s in lab.lab.systems()]
        threading.Thread(
            target=_register,
            args=(server, api_url, manager.admin_token, lab, system_ids, data_dir),
            daemon=True,
        ).start()
        run_server(server)  # until Ctrl-C; the manager stops with the app
    finally:
        lab.stop()  # its state stays in the data directory for the next start
        err.print("demo stopped")


def _register(
    server: uvicorn.Server,
    api_url: str,
    token: str,
    lab: LabServer,
    system_ids: list[str],
    data_dir: Path,
) -> None:
    """Register the lab's systems and its array through the public API, once it answers.

    Runs on a thread of its own: an API that goes away meanwhile (Ctrl-C) is one line,
    not the thread's traceback.
    """
    while not server.started:
        time.sleep(0.1)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=api_url, headers=headers, timeout=60) as http:
            _register_with(http, api_url, lab, system_ids, data_dir)
    except (httpx.HTTPError, ValueError) as exc:  # ValueError: an answer that is not JSON
        err.print(f"could not register the lab with kanri at {api_url}: {exc}")


def _register_with(
    http: httpx.Client, api_url: str, lab: LabServer, system_ids: list[str], data_dir: Path
) -> None:
    user, password = lab.config.username, lab.config.password
    known = {m["name"] for m in http.get("/api/v1/machines").json()}

    def register(system_id: str) -> None:
        answer = http.post(
            "/api/v1/machines",
            json={
                "name": system_id,
                "bmc_url": lab.url,
                "username": user,
                "password": password,
                "system_id": system_id,
            },
        )
        if answer.status_code != 201:
            err.print(f"could not register {system_id}: {answer.json().get('detail')}")

    # Several at once, as an operator's script would: each registration reads a whole
    # inventory from the BMC, and the manager caps what one BMC gets at a time.
    # The first alone: it records the BMC, which concurrent first registrations would race
    # for (the API answers the loser "retry").
    todo = [s for s in system_ids if s not in known]
    if todo:
        register(todo[0])
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(register, todo[1:]))
    arrays = {a["name"] for a in http.get("/api/v1/storage").json()}
    if ARRAY_NAME not in arrays:
        answer = http.post(
            "/api/v1/storage",
            json={
                "name": ARRAY_NAME,
                "url": lab.url,
                "username": user,
                "password": password,
                "driver": "swordfish",
            },
        )
        if answer.status_code != 201:
            err.print(f"could not register the array: {answer.json().get('detail')}")
    machines = http.get("/api/v1/machines").json()
    names = {(m["bmc_url"], m["system_id"]): m["name"] for m in machines}
    table(
        machines,
        [
            ("NAME", lambda m: m["name"]),
            ("KIND", lambda m: m["kind"]),
            ("HOST", lambda m: names.get((m["bmc_url"], m["host_system_id"]))),
            ("POWER", lambda m: m["power"]),
            ("HEALTH", lambda m: m["health"]),
            ("CORES", lambda m: m["cpu_cores"]),
        ],
        title=f"kanri demo: {len(machines)} machines and partitions",
    )
    out.print(
        f"""
  kanri API   {api_url}   (OpenAPI: {api_url}/docs)
  lab         {lab.url}   (Redfish, user {user}, password {password})
  data        {data_dir}

In another terminal:
  export PATH="$PWD/.venv/bin:$PATH" KANRI_URL={api_url} KANRI_DATA_DIR={data_dir}
  export KANRI_LAB_URL={lab.url}
  kanri machine list                      # machines and partitions, with their hosts
  kanri power on blade-10 --wait          # a spare: no volume, watch it fail to boot
  kanri power off app-2 --wait            # a partition, like any machine
  kanri volume list                       # the array's volumes and who sees them
  kanri event watch &                     # events as they happen (pushed by the lab)
  kanri lab inject component blade-05 dimm # a DIMM fault on a host: one event, with
  kanri event show ID                     #   its SEL line and the partitions it hits
  kanri lab status                        # what the lab says: OS heartbeats, faults
  kanri lab violations                    # split-brain and unmapped boots (none, we hope)
  kanri event list

Ctrl-C stops the demo."""
    )
