"""The ``mode`` job kind: switch machines between bare and hypervisor mode (issue 5;
docs/partitions.md "Partitions and modes in kanri").

params: ``mode`` (bare, hypervisor), ``force`` (bool: go on although a server is placed on
the machine; the server is unplaced — the machine's ports present their own identities
again from the reboot; the server's record, identity and boot volume stay, to be placed
elsewhere — and it stops with the reboot), ``timeout`` (seconds the verify step waits
for the new mode, default 600).

Per machine, three steps in order:

1. ``mode.set`` — re-read the mode; ask the firmware for the new one from the next boot
   unless it is in effect or pending already (idempotent by state). Refused to bare while
   the host has partitions (kanri's or any the BMC reports): they would stay defined but
   could never start.
2. ``mode.reboot`` — re-read the mode; nothing when it is in effect already, else start
   the machine if it is off and reset it (hard) if it is on, through the power service (its
   locks, its journal). Not repeated after a manager's death: a reset sent whose answer
   was lost reads like one not sent (the step fails "outcome unknown": look, resubmit).
3. ``mode.verify`` — wait until the firmware reports the mode in effect with nothing
   pending, then keep it in ``machines.mode``.
"""

from __future__ import annotations

import time
from typing import Any

from kanri.domain.errors import Conflict, Invalid, TimedOut
from kanri.domain.jobs import Step, StepSpec
from kanri.domain.partitions import MachineMode
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.engine.job_runner import Stopped
from kanri.engine.jobs import JobContext, JobService
from kanri.store.partitions_repo import PartitionsRepository

KIND = "mode"
_PARAMS = frozenset({"mode", "force", "timeout"})


def check_params(params: dict[str, Any]) -> tuple[MachineMode, bool, float]:
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise Invalid(f"unknown mode job parameter(s): {', '.join(unknown)}")
    raw = params.get("mode")
    if raw not in set(MachineMode):
        choices = ", ".join(m.value for m in MachineMode)
        raise Invalid(f"mode job 'mode' {raw!r} is not one of {choices}")
    force = params.get("force", False)
    if not isinstance(force, bool):
        raise Invalid("mode job 'force' is true or false")
    timeout = params.get("timeout", 600)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise Invalid("mode job 'timeout' is a number of seconds above 0")
    return MachineMode(str(raw)), force, float(timeout)


def _store(context: JobContext) -> PartitionsRepository:
    return PartitionsRepository(context.repo.db)


def _refusals(context: JobContext, name: str, mode: MachineMode, force: bool) -> list[str]:
    store = _store(context)
    lines: list[str] = []
    servers = store.servers_on(name)
    if servers and not force:
        lines.append(
            f"server {', '.join(servers)} is placed on {name}: the switch reboots {name} and "
            "stops it; --force unplaces it (its record stays) and goes on"
        )
    if mode is MachineMode.BARE:
        parts = [p.name for p in store.list(name)]
        if parts:
            lines.append(
                f"{name} has partitions {', '.join(parts)}: delete them before switching it "
                "to bare mode"
            )
    return lines


def plan(targets: list[str], params: dict[str, Any], context: JobContext) -> list[StepSpec]:
    mode, force, timeout = check_params(params)
    problems: list[str] = []
    for target in targets:
        machine = context.repo.get_machine(target)  # NotFound before anything is stored
        if machine.inventory.kind is SystemKind.PARTITION:
            raise Invalid(f"{target} is a partition: only a machine has a mode")
        problems += _refusals(context, target, mode, force)
    if problems:
        raise Conflict(f"cannot switch to {mode} mode: {'; '.join(problems)}")
    specs: list[StepSpec] = []
    for target in targets:
        common = {"mode": mode.value}
        specs += [
            StepSpec(f"set {target} to {mode}", target, "mode.set", {**common, "force": force}),
            StepSpec(f"reboot {target}", target, "mode.reboot", common, group=1),
            StepSpec(
                f"verify {target} is {mode}",
                target,
                "mode.verify",
                {**common, "timeout": timeout},
                group=2,
            ),
        ]
    return specs


def _read_mode(context: JobContext, name: str) -> tuple[MachineMode, MachineMode | None]:
    machine, bmc = context.repo.bmc_of(name)
    driver = context.power.drivers.partitions(machine.driver)
    now, pending = context.power.calls.run(driver.mode, bmc, machine.system_id)
    _store(context).set_mode(name, now, pending)
    return now, pending


def set_step(context: JobContext, step: Step) -> dict[str, Any]:
    name = _target(step)
    want = MachineMode(step.params["mode"])
    now, pending = _read_mode(context, name)
    if now is want and pending is None:
        return {"mode": now.value, "sent": False}
    machine, bmc = context.repo.bmc_of(name)
    driver = context.power.drivers.partitions(machine.driver)
    if want is MachineMode.BARE:
        found = context.power.calls.run(driver.partitions, bmc, machine.system_id)
        if found:
            ids = ", ".join(p.id for p in found)
            raise Conflict(f"{name} has partitions {ids}: delete them before bare mode")
    problems = _refusals(context, name, want, bool(step.params.get("force")))
    if problems:  # a server placed since the job was planned
        raise Conflict("; ".join(problems))
    unplaced: list[str] = []
    if step.params.get("force"):
        # As an unplace does: the machine presents its own identities again (idempotent),
        # then the placement goes.
        for ports in _store(context).placed_ports(name).values():
            for port in ports:
                context.power.calls.run(driver.set_identity, bmc, machine.system_id, port, None)
        unplaced = _store(context).unplace_servers(name)
    if unplaced:
        context.repo.add_event(
            "server.unplaced",
            "warning",
            name,
            f"{', '.join(unplaced)} unplaced from {name}: job {context.job_id} switches it "
            f"to {want} mode (--force)",
            {"servers": unplaced, "job": context.job_id},
        )
    sent = pending is not want
    if sent:
        context.power.calls.run(driver.set_mode, bmc, machine.system_id, want)
        _store(context).set_mode(name, now, want)
    context.repo.add_event(
        "machine.mode",
        "info",
        name,
        f"job {context.job_id}: {name} set to {want} mode from its next boot (was {now})",
        {"mode": want.value, "was": now.value, "job": context.job_id, "sent": sent},
    )
    return {"mode": now.value, "pending": want.value, "sent": sent, "unplaced": unplaced}


def reboot_step(context: JobContext, step: Step) -> dict[str, Any]:
    name = _target(step)
    want = MachineMode(step.params["mode"])
    now, pending = _read_mode(context, name)
    if now is want and pending is None:
        return {"sent": False, "mode": now.value}
    power = context.power.read(name).power
    # A hard reset, not a graceful restart: a machine with no OS running (a bare blade
    # with no server, the lab's and real BMCs alike) leaves a GracefulRestart unanswered,
    # and the verify step would wait its whole timeout. Step 1 refused a machine holding
    # a server unless --force, whose consequence is that the server stops.
    action = PowerAction.ON if power is PowerState.OFF else PowerAction.RESET
    result = context.power.set(name, action, who=f"job {context.job_id}", job=context.job_id)
    return {"action": action.value, "previous": result.previous.value, "sent": result.sent}


def verify_step(context: JobContext, step: Step) -> dict[str, Any]:
    name = _target(step)
    want = MachineMode(step.params["mode"])
    timeout = float(step.params.get("timeout", 600))
    deadline = time.monotonic() + timeout
    while True:
        now, pending = _read_mode(context, name)
        if now is want and pending is None:
            return {"mode": now.value}
        if time.monotonic() > deadline:
            waiting = f", {pending} pending" if pending else ""
            raise TimedOut(f"{name} is in {now} mode{waiting} after {timeout:g}s (want {want})")
        if context.stopping.wait(context.options.settle_poll):
            raise Stopped


def _target(step: Step) -> str:
    if step.target is None:
        raise Invalid("a mode step needs a target")
    return step.target


def register(service: JobService) -> None:
    service.register(KIND, plan)
    service.register_action("mode.set", set_step, idempotent=True)
    service.register_action("mode.reboot", reboot_step, idempotent=False)
    service.register_action("mode.verify", verify_step, idempotent=True)
