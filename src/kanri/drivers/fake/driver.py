"""Fake power and inventory drivers over a :class:`FakeWorld`."""

from __future__ import annotations

from dataclasses import replace

from kanri.domain.model import Bmc, SystemInventory
from kanri.domain.states import BootTarget, Health, PowerAction, PowerState
from kanri.drivers.base import SystemNotFound
from kanri.drivers.fake.world import FakeSystem, world_of
from kanri.drivers.registry import DriverContext

# Fake power takes effect at once; the final state of each action.
_AFTER: dict[PowerAction, PowerState] = {
    PowerAction.ON: PowerState.ON,
    PowerAction.OFF: PowerState.OFF,
    PowerAction.FORCE_OFF: PowerState.OFF,
    PowerAction.RESTART: PowerState.ON,
    PowerAction.RESET: PowerState.ON,
}


class _FakeBase:
    def __init__(self, context: DriverContext) -> None:
        self.world = world_of(context)

    def _system(self, bmc: Bmc, system_id: str) -> FakeSystem:
        """The system, after a request's worth of checks; call with the world locked."""
        found = self.world.contact(bmc.url, bmc.username, bmc.password)
        try:
            return found.systems[system_id]
        except KeyError:
            raise SystemNotFound(bmc.url, f"no system {system_id!r}") from None

    def close(self) -> None:
        """Nothing to log out of."""


class FakePower(_FakeBase):
    def get_power(self, bmc: Bmc, system_id: str) -> PowerState:
        self.world.latency(bmc.url)
        with self.world.lock:
            return self._system(bmc, system_id).power

    def set_power(self, bmc: Bmc, system_id: str, action: PowerAction) -> None:
        self.world.latency(bmc.url)
        with self.world.lock:
            system = self._system(bmc, system_id)
            system.commands.append(action.value)
            system.power = _AFTER[action]

    def set_boot_override(self, bmc: Bmc, system_id: str, target: BootTarget, once: bool) -> None:
        with self.world.lock:
            system = self._system(bmc, system_id)
            system.boot_override, system.boot_once = target, once


class FakeInventory(_FakeBase):
    def discover(self, bmc: Bmc) -> list[SystemInventory]:
        self.world.latency(bmc.url)
        with self.world.lock:
            found = self.world.contact(bmc.url, bmc.username, bmc.password)
            return [self._snapshot(s) for s in found.systems.values()]

    def inventory(self, bmc: Bmc, system_id: str) -> SystemInventory:
        self.world.latency(bmc.url)
        with self.world.lock:
            return self._snapshot(self._system(bmc, system_id))

    def health(self, bmc: Bmc, system_id: str) -> Health:
        self.world.latency(bmc.url)
        with self.world.lock:
            return self._system(bmc, system_id).inventory.health

    @staticmethod
    def _snapshot(system: FakeSystem) -> SystemInventory:
        return replace(system.inventory, power=system.power)
