"""Storage arrays in the manager: registered only once they answer, and read live
through their driver in the operators' worker pool, under its deadline."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from kanri.domain.naming import check_name
from kanri.domain.storage import (
    HostGroup,
    StorageArray,
    StorageSystem,
    Volume,
    normalize_array_url,
)
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.engine.locks import TargetLocks
from kanri.store.repo import Repository
from kanri.store.storage_repo import StorageRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ArrayContents:
    """What an array holds now, read in one go."""

    system: StorageSystem
    volumes: list[Volume]
    host_groups: list[HostGroup]


class StorageService:
    def __init__(
        self,
        storage: StorageRepository,
        repo: Repository,
        drivers: Drivers,
        calls: DriverCalls,
        locks: TargetLocks,
    ) -> None:
        self.storage = storage
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        self.locks = locks

    def add(self, name: str, array: StorageArray, driver: str = "swordfish") -> StorageSystem:
        """Register an array under ``name`` once it answers to these credentials: nothing
        is stored if it does not."""
        check_name(name)
        array = replace(array, url=normalize_array_url(array.url))
        storage = self.drivers.storage(driver)  # Invalid for a driver nobody registered
        with self.locks.hold(_target(name), "register"):
            self.calls.run(storage.check, array)
            system = self.storage.add(name, driver, array)
        self.repo.add_event(
            "storage.added",
            "info",
            name,
            f"registered storage system {name} at {array.url}",
            {"url": array.url, "driver": driver},
        )
        log.info("registered storage system %s at %s", name, array.url)
        return system

    def systems(self) -> list[StorageSystem]:
        return self.storage.systems()

    def get(self, name: str) -> StorageSystem:
        return self.storage.get(name)

    def remove(self, name: str) -> None:
        """Forget the array. Nothing on it changes."""
        with self.locks.hold(_target(name), "remove"):
            self.storage.remove(name)
        self.repo.add_event("storage.removed", "info", name, f"removed storage system {name}")

    def contents(self, name: str) -> ArrayContents:
        """Volumes and host groups as the array tells them now, both read within one
        deadline: two would let the API answer after the CLI has given up on it."""
        system, array = self.storage.array_of(name)
        storage = self.drivers.storage(system.driver)

        def read(array: StorageArray) -> tuple[list[Volume], list[HostGroup]]:
            return storage.volumes(array), storage.host_groups(array)

        volumes, groups = self.calls.run(read, array)
        return ArrayContents(system, volumes, groups)


def _target(name: str) -> str:
    """Storage systems share the lock table with machines: their own namespace in it."""
    return f"storage:{name}"
