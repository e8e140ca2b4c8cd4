"""Requests a power command costs the BMC, counted where they arrive.

kanri's lab links each system's ``ResetActionInfo`` (read once per system); sushy-tools
annotates the allowed values on the action (never an ActionInfo). A power command is the
state read the engine does before acting (guide rule 3: that GET stays) and one POST;
nothing read is read again. A power job goes through the engine and the same driver.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from kanri.domain.jobs import JobState
from kanri.domain.model import Bmc
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.registry import Drivers
from kanri.engine.manager import Manager, ManagerOptions
from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from kanri.lab.sushy_emulator import SushyEmulator
from kanri.settings import Settings
from tests.integration.conftest import TEST_OPTIONS, SystemPool
from tests.waiting import wait_for

STATE = "GET /redfish/v1/Systems/{id}"
INFO = "GET /redfish/v1/Systems/{id}/ResetActionInfo"
RESET = "POST /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset"
_BLADE = re.compile(r"blade-\d+")


class _Count:
    """Outermost ASGI middleware of the lab: every request, by method and path."""

    def __init__(self, app: ASGIApp, log: CountingLab) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.log.add(f"{scope['method']} {_BLADE.sub('{id}', str(scope['path']))}")
        await self.app(scope, receive, send)


class CountingLab(LabServer):
    def __init__(self, config: LabConfig, directory: Path) -> None:
        super().__init__(config, directory)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def start(self) -> CountingLab:
        super().start()
        assert self._app is not None  # no request served yet: Starlette adds it lazily
        self._app.add_middleware(_Count, log=self)
        return self

    def add(self, request: str) -> None:
        with self._lock:
            self._counts[request] += 1

    def take(self) -> Counter[str]:
        """The requests served since the last call."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingLab]:
    config = LabConfig.from_dict(
        {"scale": 50.0, "machines": [{"id": f"blade-{i:02d}", "power": "Off"} for i in range(6)]}
    )
    server = CountingLab(config, tmp_path_factory.mktemp("counted-lab"))
    with server:
        yield server


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers(TEST_OPTIONS)  # a new manager's drivers: nothing known yet
    yield drivers
    drivers.close()


def test_each_power_command_costs_one_read_and_one_post_on_the_lab(
    lab: CountingLab, drivers: Drivers
) -> None:
    power, bmc = drivers.power("redfish"), Bmc(lab.url, "admin", "password")

    def step(action: PowerAction | None) -> Counter[str]:
        """What PowerService.set does: read the state back, then send."""
        power.get_power(bmc, "blade-01")
        if action is not None:
            power.set_power(bmc, "blade-01", action)
        return lab.take()

    def until(state: PowerState) -> None:
        wait_for(lambda: power.get_power(bmc, "blade-01") is state, timeout=20)
        lab.take()

    power.get_power(bmc, "blade-00")  # log in
    lab.take()
    assert step(None) == {STATE: 1}
    assert step(PowerAction.ON) == {STATE: 1, INFO: 1, RESET: 1}  # the ActionInfo, once
    until(PowerState.ON)
    assert step(PowerAction.RESET) == {STATE: 1, RESET: 1}
    assert step(PowerAction.RESTART) == {STATE: 1, RESET: 1}
    until(PowerState.ON)
    assert step(PowerAction.OFF) == {STATE: 1, RESET: 1}
    assert step(PowerAction.FORCE_OFF) == {STATE: 1, RESET: 1}
    until(PowerState.OFF)
    assert step(PowerAction.ON) == {STATE: 1, RESET: 1}


def test_a_power_job_costs_one_read_one_actioninfo_and_one_post_per_machine(
    lab: CountingLab, tmp_path: Path
) -> None:
    names = ["blade-02", "blade-03", "blade-04"]
    manager = Manager(
        Settings(tmp_path, f"sqlite:///{tmp_path / 'kanri.db'}"),
        ManagerOptions(drivers=TEST_OPTIONS, run_sync=False),
    )
    manager.start()
    try:
        for name in names:
            manager.machines.add(name, Bmc(lab.url, "admin", "password"), system_id=name)
        lab.take()
        job = manager.jobs.submit("power", names, {"action": "on"})
        wait_for(lambda: manager.jobs.get(job.id).state.ended, timeout=30)
        assert manager.jobs.get(job.id).state is JobState.SUCCEEDED
        assert lab.take() == {STATE: 3, INFO: 3, RESET: 3}
    finally:
        manager.stop()


def _served(emulator: SushyEmulator, system: str, since: int) -> Counter[str]:
    """Requests for ``system`` in the emulator's access log after byte ``since``, by method
    and path (other tests, discovery say, read every system of the shared emulator)."""
    found = re.findall(
        rf'"(GET|POST) /redfish/v1/Systems/{system}(\S*) HTTP'.encode(),
        emulator.log_path.read_bytes()[since:],
    )
    return Counter(f"{m.decode()} /redfish/v1/Systems/{{id}}{rest.decode()}" for m, rest in found)


def test_sushy_tools_allowed_values_on_the_action_need_no_further_read(
    sushy_emulator: SushyEmulator, emulator_bmc: Bmc, emulated_systems: SystemPool, drivers: Drivers
) -> None:
    power, system = drivers.power("redfish"), emulated_systems.take("Off").uuid
    start = sushy_emulator.log_path.stat().st_size
    assert power.get_power(emulator_bmc, system) is PowerState.OFF
    power.set_power(emulator_bmc, system, PowerAction.ON)
    # The emulator is another process: its log has the lines once it has answered.
    wait_for(lambda: sum(_served(sushy_emulator, system, start).values()) >= 2, timeout=5)
    assert _served(sushy_emulator, system, start) == {STATE: 1, RESET: 1}
