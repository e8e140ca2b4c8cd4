"""The Redfish drivers against a live sushy-tools emulator (fake driver)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sushy.connector import Connector

from kanri.domain.errors import Invalid
from kanri.domain.model import Bmc
from kanri.domain.states import BootTarget, Health, PowerAction, PowerState
from kanri.drivers.base import (
    BmcAuthFailed,
    BmcProtocolError,
    BmcUnreachable,
    DriverOptions,
    SystemNotFound,
)
from kanri.drivers.redfish import RedfishClient, RedfishInventory, RedfishPower
from kanri.drivers.registry import DriverContext
from kanri.lab.sushy_emulator import SushyEmulator, free_port
from tests.integration.conftest import TEST_OPTIONS, SystemPool

POWER_DEADLINE = 30.0  # the fake driver applies a change after a random 1-11 s


@pytest.fixture
def context() -> Iterator[DriverContext]:
    context = DriverContext(TEST_OPTIONS)
    yield context
    context.close()


@pytest.fixture
def power(context: DriverContext) -> RedfishPower:
    return RedfishPower(context)


@pytest.fixture
def inventory(context: DriverContext) -> RedfishInventory:
    return RedfishInventory(context)


def wait_for(power: RedfishPower, bmc: Bmc, ids: list[str], state: PowerState) -> float:
    """Poll until every system shows ``state``; return the seconds it took."""
    start = time.monotonic()
    pending = set(ids)
    while pending:
        pending = {i for i in pending if power.get_power(bmc, i) is not state}
        if pending and time.monotonic() - start > POWER_DEADLINE:
            pytest.fail(f"{sorted(pending)} not {state} after {POWER_DEADLINE:g}s")
        time.sleep(0.25 if pending else 0)
    return time.monotonic() - start


def test_discover_finds_every_system_with_uuid_and_macs(
    inventory: RedfishInventory, emulator_bmc: Bmc, sushy_emulator: SushyEmulator
) -> None:
    found = {s.system_id: s for s in inventory.discover(emulator_bmc)}

    assert set(found) == {s.uuid for s in sushy_emulator.systems}
    for system in sushy_emulator.systems:
        machine = found[system.uuid]
        assert machine.uuid == system.uuid
        assert tuple(n.mac for n in machine.nics) == system.macs
        assert machine.manufacturer == "Sushy Emulator"
        # sushy-tools' fake driver knows no CPUs or memory (Processors 501, Memory 404)
        assert machine.cpu_cores is None
        assert machine.memory_mib is None
        assert machine.health is Health.OK


def test_power_off_both_ways_then_on(
    power: RedfishPower, emulator_bmc: Bmc, emulated_systems: SystemPool
) -> None:
    forced, graceful = emulated_systems.take("On"), emulated_systems.take("On")
    assert power.get_power(emulator_bmc, forced.uuid) is PowerState.ON

    # Issue both, then poll both: the waits overlap.
    power.set_power(emulator_bmc, forced.uuid, PowerAction.FORCE_OFF)
    power.set_power(emulator_bmc, graceful.uuid, PowerAction.OFF)
    wait_for(power, emulator_bmc, [forced.uuid, graceful.uuid], PowerState.OFF)

    power.set_power(emulator_bmc, forced.uuid, PowerAction.ON)
    wait_for(power, emulator_bmc, [forced.uuid], PowerState.ON)


def test_boot_override(
    power: RedfishPower, emulator_bmc: Bmc, emulated_systems: SystemPool
) -> None:
    system = emulated_systems.take("Off")
    power.set_boot_override(emulator_bmc, system.uuid, BootTarget.PXE, once=True)
    client = power.sessions.client_of(emulator_bmc)
    assert client is not None
    _, doc = client.system(system.uuid)
    assert doc["Boot"]["BootSourceOverrideTarget"] == "Pxe"

    with pytest.raises(
        BmcProtocolError, match=r"cannot boot from usb: the BMC offers Cd, Hdd, Pxe"
    ):
        power.set_boot_override(emulator_bmc, system.uuid, BootTarget.USB, once=True)


def test_health_and_unknown_system(
    inventory: RedfishInventory,
    power: RedfishPower,
    emulator_bmc: Bmc,
    sushy_emulator: SushyEmulator,
) -> None:
    assert inventory.health(emulator_bmc, sushy_emulator.systems[0].uuid) is Health.OK
    with pytest.raises(SystemNotFound, match="no system 'no-such-system'"):
        power.get_power(emulator_bmc, "no-such-system")
    with pytest.raises(SystemNotFound):
        inventory.inventory(emulator_bmc, "no-such-system")


def test_wrong_credentials(
    inventory: RedfishInventory,
    power: RedfishPower,
    emulator_bmc: Bmc,
    sushy_emulator: SushyEmulator,
) -> None:
    wrong = Bmc(emulator_bmc.url, emulator_bmc.username, "not-the-password")
    with pytest.raises(BmcAuthFailed, match=r"credentials rejected \(HTTP 401\)$"):
        inventory.discover(wrong)
    with pytest.raises(BmcAuthFailed):
        power.get_power(wrong, sushy_emulator.systems[0].uuid)


def test_closed_port_is_unreachable_fast(power: RedfishPower) -> None:
    bmc = Bmc(f"http://127.0.0.1:{free_port()}", "admin", "x")
    start = time.monotonic()
    with pytest.raises(BmcUnreachable, match=r"connection refused$"):
        power.get_power(bmc, "1")
    assert time.monotonic() - start < 3


def test_stopped_emulator_is_unreachable_fast_and_comes_back() -> None:
    context = DriverContext(TEST_OPTIONS)
    inventory = RedfishInventory(context)
    emulator = SushyEmulator(systems=1).start()
    try:
        bmc = Bmc(emulator.url, "any", "thing")  # no auth file: any credentials work
        assert len(inventory.discover(bmc)) == 1
        emulator.pause()
        start = time.monotonic()
        with pytest.raises(BmcUnreachable, match="connection refused"):
            inventory.discover(bmc)
        # one reconnect after the cached client failed, each with bounded retries
        assert time.monotonic() - start < 3
        emulator.start()
        assert len(inventory.discover(bmc)) == 1
    finally:
        emulator.stop()
        context.close()


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://127.0.0.1", "http://", "https://u:p@h"])
def test_malformed_url_is_invalid_before_any_io(power: RedfishPower, url: str) -> None:
    bmc = Bmc(url, "admin", "x")
    with pytest.raises(Invalid, match="invalid BMC URL"):
        power.get_power(bmc, "1")
    assert power.sessions._slots == {}


def test_one_client_per_bmc_shared_by_both_drivers(
    context: DriverContext, emulator_bmc: Bmc, sushy_emulator: SushyEmulator
) -> None:
    power, inventory = RedfishPower(context), RedfishInventory(context)
    system_id = sushy_emulator.systems[0].uuid
    assert power.sessions is inventory.sessions

    power.get_power(emulator_bmc, system_id)
    first = power.sessions.client_of(emulator_bmc)
    inventory.inventory(emulator_bmc, system_id)
    power.get_power(emulator_bmc, system_id)
    assert isinstance(first, RedfishClient)
    assert power.sessions.client_of(emulator_bmc) is first

    # New credentials for the same key: the old client is replaced, not reused.
    changed = Bmc(emulator_bmc.url, emulator_bmc.username, "not-the-password")
    with pytest.raises(BmcAuthFailed):
        power.get_power(changed, system_id)
    assert power.sessions.client_of(emulator_bmc) is not first

    power.close()
    power.close()  # twice is fine
    assert power.sessions.client_of(emulator_bmc) is None
    assert power.get_power(emulator_bmc, system_id) in set(PowerState)  # usable after close


def test_per_bmc_concurrency_cap(emulator_bmc: Bmc) -> None:
    context = DriverContext(DriverOptions(per_bmc_concurrency=2))
    power = RedfishPower(context)
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def work(client: RedfishClient) -> None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        client.get("/redfish/v1/Systems")
        time.sleep(0.05)
        with lock:
            in_flight -= 1

    threads = [
        threading.Thread(target=power.sessions.run, args=(emulator_bmc, work)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    context.close()
    assert peak == 2


def test_restart_and_reset_go_off_then_on(
    power: RedfishPower,
    emulator_bmc: Bmc,
    emulated_systems: SystemPool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graceful, hard = emulated_systems.take("Off"), emulated_systems.take("Off")
    ids = [graceful.uuid, hard.uuid]
    for system_id in ids:
        power.set_power(emulator_bmc, system_id, PowerAction.ON)
    wait_for(power, emulator_bmc, ids, PowerState.ON)

    # Record what goes on the wire: the emulator does not log the ResetType it got.
    sent: dict[str, object] = {}
    real_post = Connector.post

    def post(self: Connector, path: str = "", data: object = None, **kwargs: object) -> object:
        sent[path.split("/")[-3]] = data
        return real_post(self, path, data=data, **kwargs)

    monkeypatch.setattr(Connector, "post", post)
    power.set_power(emulator_bmc, graceful.uuid, PowerAction.RESTART)
    power.set_power(emulator_bmc, hard.uuid, PowerAction.RESET)
    assert sent == {
        graceful.uuid: {"ResetType": "GracefulRestart"},
        hard.uuid: {"ResetType": "ForceRestart"},
    }

    # The fake driver drops a restarting system to Off at once, and brings it On 1-11 s
    # later: Off here shows the restart was accepted and acted on, not ignored.
    for system_id in ids:
        assert power.get_power(emulator_bmc, system_id) is PowerState.OFF
    wait_for(power, emulator_bmc, ids, PowerState.ON)
