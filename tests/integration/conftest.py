"""Peer software for the integration tests: the sushy-tools Redfish emulator.

Started once per session (~0.3 s) and shared; tests that change power use systems of
their own so they can run in any order. Fails, never skips, when the emulator is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from kanri.domain.model import Bmc
from kanri.drivers.base import DriverOptions
from kanri.lab.sushy_emulator import EmulatedSystem, SushyEmulator, make_systems
from tests.peers.sushy import running_emulator

EMULATOR_USER = "admin"
EMULATOR_PASSWORD = "kanri-test"

# Fast failure for the unreachable tests; still the real code paths.
TEST_OPTIONS = DriverOptions(connect_timeout=2.0, read_timeout=10.0, retries=2, retry_delay=0.1)


@pytest.fixture(scope="session")
def sushy_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SushyEmulator]:
    # Systems 1-6 start Off, 7-8 On: power tests each take their own (see take_system).
    systems = make_systems(8)
    systems[6:] = [replace(s, power_state="On") for s in systems[6:]]
    with running_emulator(
        systems=systems,
        username=EMULATOR_USER,
        password=EMULATOR_PASSWORD,
        workdir=tmp_path_factory.mktemp("sushy-emulator"),
    ) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def emulator_bmc(sushy_emulator: SushyEmulator) -> Bmc:
    return Bmc(sushy_emulator.url, EMULATOR_USER, EMULATOR_PASSWORD)


class SystemPool:
    """Hands each power test systems nobody else touches: the fake driver applies a power
    change 1-11 s later, and a pending change would leak into the next test."""

    def __init__(self, systems: list[EmulatedSystem]) -> None:
        self._free = list(systems)

    def take(self, power_state: str = "Off") -> EmulatedSystem:
        for system in self._free:
            if system.power_state == power_state:
                self._free.remove(system)
                return system
        pytest.fail(f"no free emulated system that starts {power_state}: add some in conftest")


@pytest.fixture(scope="session")
def emulated_systems(sushy_emulator: SushyEmulator) -> SystemPool:
    return SystemPool(sushy_emulator.systems)
