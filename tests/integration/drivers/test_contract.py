"""What every PowerDriver and InventoryDriver must do, run against every registered one.

A newly registered driver fails here until it is given a target in ``TARGETS``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from kanri.domain.errors import Invalid
from kanri.domain.model import Bmc
from kanri.domain.partitions import PartitionSpec
from kanri.domain.states import PowerAction, PowerState
from kanri.drivers.base import (
    BmcAuthFailed,
    BmcUnreachable,
    InventoryDriver,
    PowerDriver,
    SystemNotFound,
)
from kanri.drivers.fake.world import FAKE_PASSWORD_REJECTED
from kanri.drivers.registry import Drivers, available
from kanri.lab.config import LabConfig
from kanri.lab.server import LabServer
from kanri.lab.sushy_emulator import free_port
from tests.integration.conftest import TEST_OPTIONS, SystemPool
from tests.integration.drivers.partitions_libvirt_target import URL as LIBVIRT_URL

POWER_DEADLINE = 30.0
_fake_names = itertools.count(1)


@dataclass
class Target:
    """A BMC the driver under test can reach, and how to get a system to power."""

    bmc: Bmc
    wrong_password: Bmc
    take_system: Callable[[], str]  # a system id no other test powers, currently off
    # The peer checks credentials. libvirt's test driver has none to check: the cases
    # that need a refused password skip for such a target (and only for it).
    checks_credentials: bool = True


def _fake_target(request: pytest.FixtureRequest) -> Target:
    url = f"fake://contract-{next(_fake_names)}?systems=3"
    ids = iter(["1", "2", "3"])
    return Target(
        Bmc(url, "admin", "secret"), Bmc(url, "admin", FAKE_PASSWORD_REJECTED), lambda: next(ids)
    )


def _redfish_target(request: pytest.FixtureRequest) -> Target:
    bmc: Bmc = request.getfixturevalue("emulator_bmc")
    systems: SystemPool = request.getfixturevalue("emulated_systems")
    wrong = Bmc(bmc.url, bmc.username, "not-the-password")
    return Target(bmc, wrong, lambda: systems.take("Off").uuid)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """kanri's own lab: blades that start Off, fast lab time."""
    config = LabConfig.from_dict(
        {"scale": 50.0, "machines": [{"id": f"blade-{i:02d}"} for i in range(1, 9)]}
    )
    with LabServer(config, tmp_path_factory.mktemp("contract-lab")) as server:
        yield server


def _lab_target(request: pytest.FixtureRequest) -> Target:
    server: LabServer = request.getfixturevalue("lab_server")
    assert server.lab is not None
    free = iter([m.id for m in server.lab.machines.values() if m.power.value == "Off"])
    bmc = Bmc(server.url, "admin", "password")
    return Target(bmc, Bmc(server.url, "admin", "not-the-password"), lambda: next(free))


def _libvirt_target(request: pytest.FixtureRequest) -> Target:
    """libvirt's test driver on the fixture host (no domains): each case defines its
    own, off, through the partitions driver of the same Drivers, so on the one
    connection that keeps the host (every new open of test:///file is a fresh copy)."""
    drivers: Drivers = request.getfixturevalue("drivers")
    parts = drivers.partitions("libvirt")
    bmc = Bmc(LIBVIRT_URL, "", "")
    names = (f"contract-{i}" for i in itertools.count(1))

    def take() -> str:
        host = drivers.inventory("libvirt").discover(bmc)[0].system_id
        return parts.create(bmc, host, PartitionSpec(next(names), 1, 1)).id

    return Target(bmc, Bmc(LIBVIRT_URL, "admin", "wrong"), take, checks_credentials=False)


# target name -> (driver, how to reach a peer it drives); every driver needs one at least.
TARGETS: dict[str, tuple[str, Callable[[pytest.FixtureRequest], Target]]] = {
    "fake": ("fake", _fake_target),
    "redfish@sushy-tools": ("redfish", _redfish_target),
    "redfish@lab": ("redfish", _lab_target),
    "libvirt@test": ("libvirt", _libvirt_target),
}


def test_every_registered_driver_has_a_contract_target() -> None:
    missing = set(available("power")) - {driver for driver, _ in TARGETS.values()}
    assert not missing, f"drivers without a contract target: add them to TARGETS: {missing}"


@pytest.fixture(params=sorted(TARGETS))
def target_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def driver_name(target_name: str) -> str:
    return TARGETS[target_name][0]


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers(TEST_OPTIONS)
    yield drivers
    drivers.close()


@pytest.fixture
def power(drivers: Drivers, driver_name: str) -> PowerDriver:
    return drivers.power(driver_name)


@pytest.fixture
def inventory(drivers: Drivers, driver_name: str) -> InventoryDriver:
    return drivers.inventory(driver_name)


@pytest.fixture
def target(request: pytest.FixtureRequest, target_name: str) -> Target:
    return TARGETS[target_name][1](request)


def test_every_registered_power_driver_also_does_inventory() -> None:
    assert available("power") == available("inventory")
    assert {"fake", "libvirt", "redfish"} <= set(available("power"))


def test_implements_the_protocols(power: PowerDriver, inventory: InventoryDriver) -> None:
    assert isinstance(power, PowerDriver)
    assert isinstance(inventory, InventoryDriver)


def test_discover_returns_systems_with_ids(inventory: InventoryDriver, target: Target) -> None:
    systems = inventory.discover(target.bmc)
    assert len(systems) >= 1
    assert all(s.system_id for s in systems)
    assert len({s.system_id for s in systems}) == len(systems)
    again = inventory.inventory(target.bmc, systems[0].system_id)
    assert again.system_id == systems[0].system_id
    assert again.uuid == systems[0].uuid


def test_get_power_returns_a_power_state(power: PowerDriver, target: Target) -> None:
    assert isinstance(power.get_power(target.bmc, target.take_system()), PowerState)


def test_power_on_eventually_reads_on(power: PowerDriver, target: Target) -> None:
    system_id = target.take_system()
    power.set_power(target.bmc, system_id, PowerAction.ON)
    deadline = time.monotonic() + POWER_DEADLINE
    while power.get_power(target.bmc, system_id) is not PowerState.ON:
        assert time.monotonic() < deadline, f"not on after {POWER_DEADLINE:g}s"
        time.sleep(0.25)


def test_unknown_system(power: PowerDriver, inventory: InventoryDriver, target: Target) -> None:
    with pytest.raises(SystemNotFound):
        power.get_power(target.bmc, "no-such-system")
    with pytest.raises(SystemNotFound):
        inventory.inventory(target.bmc, "no-such-system")


def _needs_credentials_checked(target: Target) -> None:
    if not target.checks_credentials:
        pytest.skip("this target's peer takes any credentials: no wrong password to refuse")


def test_wrong_password(power: PowerDriver, inventory: InventoryDriver, target: Target) -> None:
    _needs_credentials_checked(target)
    with pytest.raises(BmcAuthFailed):
        inventory.discover(target.wrong_password)
    with pytest.raises(BmcAuthFailed):
        power.get_power(target.wrong_password, "1")


def test_unreachable(power: PowerDriver, inventory: InventoryDriver) -> None:
    nobody = Bmc(f"http://127.0.0.1:{free_port()}", "admin", "secret")
    start = time.monotonic()
    with pytest.raises(BmcUnreachable):
        inventory.discover(nobody)
    with pytest.raises(BmcUnreachable):
        power.get_power(nobody, "1")
    assert time.monotonic() - start < 5


def test_malformed_url(power: PowerDriver, inventory: InventoryDriver) -> None:
    with pytest.raises(Invalid):
        inventory.discover(Bmc("bmc-without-scheme", "admin", "secret"))
    with pytest.raises(Invalid):
        power.get_power(Bmc("gopher://", "admin", "secret"), "1")


def test_errors_are_one_line(inventory: InventoryDriver, target: Target) -> None:
    _needs_credentials_checked(target)
    with pytest.raises(BmcAuthFailed) as caught:
        inventory.discover(target.wrong_password)
    message = str(caught.value)
    assert message.startswith(target.bmc.url)
    assert "\n" not in message
    assert len(message) < 200


def test_close_twice(power: PowerDriver, inventory: InventoryDriver, target: Target) -> None:
    inventory.discover(target.bmc)
    power.close()
    power.close()
    inventory.close()
    inventory.close()
