"""Registering machines by their BMC, and keeping their inventory current."""

from __future__ import annotations

import logging
from dataclasses import replace

from kanri.domain.errors import Invalid, NotFound, SystemNotFound
from kanri.domain.model import Bmc, Machine, SystemInventory
from kanri.domain.naming import check_name, machine_names, normalize_bmc_url
from kanri.domain.states import SystemKind
from kanri.drivers.registry import Drivers
from kanri.engine.calls import DriverCalls
from kanri.engine.locks import TargetLocks
from kanri.store.partitions_repo import PartitionsRepository
from kanri.store.repo import Repository

log = logging.getLogger(__name__)


class MachineService:
    def __init__(
        self, repo: Repository, drivers: Drivers, calls: DriverCalls, locks: TargetLocks
    ) -> None:
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        self.locks = locks

    def add(
        self,
        name: str,
        bmc: Bmc,
        driver: str = "redfish",
        system_id: str | None = None,
    ) -> list[Machine]:
        """Discover what ``bmc`` manages and register it; nothing is stored if any step fails.

        One system behind the BMC takes ``name``; several are named by the rule in
        :mod:`kanri.domain.naming`. ``system_id`` registers only that one system, as ``name``.
        """
        check_name(name)
        self.drivers.check(driver)
        bmc = replace(bmc, url=normalize_bmc_url(bmc.url))
        inventory = self.drivers.inventory(driver)
        named: dict[str, SystemInventory]
        if system_id is not None:
            # One system: read just it. An enclosure manager answering for hundreds of
            # systems would otherwise be walked whole for every registration.
            try:
                named = {name: self.calls.run(inventory.inventory, bmc, system_id)}
            except SystemNotFound:
                ids = ", ".join(inv.system_id for inv in self.calls.run(inventory.discover, bmc))
                raise NotFound(
                    f"{bmc.url} has no system {system_id!r}; it has: {ids or 'none'}"
                ) from None
        else:
            found = self.calls.run(inventory.discover, bmc)
            if not found:
                raise Invalid(f"{bmc.url} manages no systems")
            names = machine_names(name, [inv.system_id for inv in found])
            named = {names[inv.system_id]: inv for inv in found}
        machines = self.repo.add_machines(bmc, driver, named)
        log.info("registered %s from %s", ", ".join(m.name for m in machines), bmc.url)
        return machines

    def refresh(self, name: str) -> Machine:
        with self.locks.hold(name, "inventory refresh"):
            machine, bmc = self.repo.bmc_of(name)
            inventory = self.drivers.inventory(machine.driver)
            fresh = self.calls.run(inventory.inventory, bmc, machine.system_id)
            updated = self.repo.update_inventory(name, fresh)
            return self._read_mode(updated, bmc)

    def _read_mode(self, machine: Machine, bmc: Bmc) -> Machine:
        """Keep the machine's mode as its partitions driver reads it (docs/partitions.md);
        a partition, or a machine whose driver has no modes, keeps none."""
        if machine.inventory.kind is SystemKind.PARTITION:
            return machine
        try:
            driver = self.drivers.partitions(machine.driver)
            mode, pending = self.calls.run(driver.mode, bmc, machine.system_id)
        except (Invalid, NotFound) as exc:
            log.debug("%s: no mode read (%s)", machine.name, exc)
            return machine
        PartitionsRepository(self.repo.db).set_mode(machine.name, mode, pending)
        return replace(machine, mode=mode, pending_mode=pending)

    def rename(self, name: str, new_name: str) -> Machine:
        """Refused (:class:`Conflict`) while an operation or a live job holds the machine."""
        check_name(new_name)
        if new_name == name:
            return self.repo.get_machine(name)
        with self.locks.hold(name, "rename"), self.locks.hold(new_name, "rename"):
            return self.repo.rename_machine(name, new_name)

    def remove(self, name: str) -> None:
        """Forget the machine (its power is left as it is). Refused (:class:`Conflict`,
        naming the job or the schedules) while an operation or a live job holds it, or a
        schedule acts on it, itself or through a group; it leaves groups no schedule uses."""
        with self.locks.hold(name, "remove"):
            self.repo.remove_machine(name)
        log.info("removed machine %s", name)
