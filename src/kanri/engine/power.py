"""Power control of one machine: read the real state, decide by the table, act, remember."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kanri.domain.errors import BmcError, Conflict
from kanri.domain.states import BootTarget, PowerAction, PowerActionRefused, PowerState, plan_power
from kanri.drivers.registry import Drivers
from kanri.engine import runstates
from kanri.engine.calls import DriverCalls
from kanri.engine.locks import TargetLocks
from kanri.store.repo import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PowerReading:
    machine: str
    power: PowerState
    desired: PowerState | None
    reachable: bool


@dataclass(frozen=True, slots=True)
class PowerResult:
    machine: str
    action: PowerAction
    previous: PowerState
    sent: bool
    target: PowerState


class PowerService:
    def __init__(
        self,
        repo: Repository,
        drivers: Drivers,
        calls: DriverCalls,
        locks: TargetLocks,
    ) -> None:
        self.repo = repo
        self.drivers = drivers
        self.calls = calls
        self.locks = locks
        # Which job holds a machine in the store (set by the Manager): an operator's
        # command on a machine a job holds is refused, as one of another operator is.
        self.job_holder: Callable[[str], int | None] | None = None

    def _check_job_lock(self, name: str, job: int | None) -> None:
        holder = self.job_holder(name) if self.job_holder else None
        if holder is not None and holder != job:
            raise Conflict(f"{name} is busy (held by job {holder}); try again when that ends")

    def read(self, name: str) -> PowerReading:
        """Ask the BMC now; store what changed."""
        machine, bmc = self.repo.bmc_of(name)
        power = self.calls.run(self.drivers.power(machine.driver).get_power, bmc, machine.system_id)
        self.repo.record_power(name, power, reachable=True)
        return PowerReading(name, power, machine.desired_power, reachable=True)

    def cached(self, name: str) -> PowerReading:
        """What the sync loop last saw, without asking the BMC."""
        machine = self.repo.get_machine(name)
        return PowerReading(name, machine.power, machine.desired_power, machine.reachable)

    def set_boot(self, name: str, target: BootTarget, once: bool, who: str = "operator") -> None:
        """Boot from ``target`` at the next boot (``once``) or until cleared (``none``)."""
        with self.locks.hold(name, f"boot override to {target.value}"):
            self._check_job_lock(name, None)
            machine, bmc = self.repo.bmc_of(name)
            driver = self.drivers.power(machine.driver)
            self.calls.run(driver.set_boot_override, bmc, machine.system_id, target, once)
            scope = "next boot" if once else "every boot"
            self.repo.add_event(
                "boot.override",
                "info",
                name,
                f"{who} set boot to {target.value} ({scope})",
                {"target": target.value, "once": once, "by": who},
            )

    def set(
        self, name: str, action: PowerAction, who: str = "operator", job: int | None = None
    ) -> PowerResult:
        """``job``: the job acting, which may act on machines it holds."""
        with self.locks.hold(name, f"power {action.value}"):
            self._check_job_lock(name, job)
            machine, bmc = self.repo.bmc_of(name)
            driver = self.drivers.power(machine.driver)
            # Decide from the state read back now, not from what we remember.
            state = self.calls.run(driver.get_power, bmc, machine.system_id)
            self.repo.record_power(name, state, reachable=True)
            try:
                step = plan_power(state, action)
            except PowerActionRefused as exc:
                raise Conflict(str(exc)) from None
            details = {"action": action.value, "previous": state.value, "by": who}
            if job is None:  # an operator's own command (a job's steps record theirs)
                runstates.hooks(self.repo).before_step(name, action, {"by": who})
            # What kanri asks for is written before it acts: if the answer is lost, the
            # sync loop still knows what to compare the machine with.
            self.repo.set_desired_power(name, step.final, commanded=step.send)
            if not step.send:
                self.repo.add_event(
                    "power.command",
                    "info",
                    name,
                    f"{who} asked {action.value}: was {state.value}, nothing to do",
                    {**details, "sent": False},
                )
                if job is None:
                    runstates.hooks(self.repo).after_step(name, action, {"by": who})
                return PowerResult(name, action, state, False, step.final)
            self.repo.add_event(
                "power.command",
                "info",
                name,
                f"{who} asked {action.value}: was {state.value}, sending",
                {**details, "sent": True},
            )
            try:
                self.calls.run(driver.set_power, bmc, machine.system_id, action)
            except BmcError as exc:
                self.repo.add_event(
                    "power.command_failed",
                    "error",
                    name,
                    f"{action.value} failed: {exc.reason}",
                    {**details, "reason": exc.reason, "error": type(exc).__name__},
                )
                raise
            log.info("%s: %s (was %s)", name, action.value, state.value)
            if job is None:
                runstates.hooks(self.repo).after_step(name, action, {"by": who})
            return PowerResult(name, action, state, True, step.final)
