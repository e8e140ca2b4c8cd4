"""The ``power`` job kind: one power action over N machines, all in one parallel group.

params: ``action`` (on, off, force_off, restart, reset), ``wait`` (bool: the step ends when
the machine reads back in the target state), ``timeout`` (seconds for ``wait``, default
300), ``max_parallel`` (steps at once; default all). The per-BMC cap of the drivers still
applies underneath.

``on``, ``off`` and ``force_off`` are idempotent by state: the step reads the power first
and sends nothing when the machine is already there (or on its way). ``restart`` and
``reset`` are not (a machine that was reset reads "on" like one that was not), so a step
of theirs interrupted by a manager's death is not repeated (see job_runner).
"""

from __future__ import annotations

import time
from typing import Any

from kanri.domain.errors import Invalid, KanriError
from kanri.domain.jobs import Step, StepSpec
from kanri.domain.states import PowerAction, PowerState
from kanri.engine.job_runner import Stopped
from kanri.engine.jobs import JobContext, JobService

KIND = "power"
_CYCLES = frozenset({PowerAction.RESTART, PowerAction.RESET})
_PARAMS = frozenset({"action", "wait", "timeout", "max_parallel"})


def check_params(params: dict[str, Any]) -> tuple[PowerAction, bool, float]:
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise Invalid(f"unknown power job parameter(s): {', '.join(unknown)}")
    raw = params.get("action")
    choices = ", ".join(a.value for a in PowerAction)
    if raw not in set(PowerAction):
        raise Invalid(f"power job action {raw!r} is not one of {choices}")
    action = PowerAction(str(raw))
    wait = params.get("wait", False)
    if not isinstance(wait, bool):
        raise Invalid("power job 'wait' is true or false")
    timeout = params.get("timeout", 300)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise Invalid("power job 'timeout' is a number of seconds above 0")
    limit = params.get("max_parallel", 0)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise Invalid("power job 'max_parallel' is a whole number (0: no limit)")
    return action, wait, float(timeout)


def plan(targets: list[str], params: dict[str, Any], context: JobContext) -> list[StepSpec]:
    action, wait, timeout = check_params(params)
    for target in targets:
        context.repo.get_machine(target)  # NotFound before anything is stored
    name = "power.cycle" if action in _CYCLES else "power.set"
    step_params = {"action": action.value, "wait": wait, "timeout": timeout}
    return [StepSpec(f"{action.value} {t}", t, name, step_params, group=0) for t in targets]


def power_step(context: JobContext, step: Step) -> dict[str, Any]:
    """Read the power, send the action only if the table says so, then maybe wait."""
    if step.target is None:
        raise Invalid("a power step needs a target")
    action = PowerAction(step.params["action"])
    result = context.power.set(step.target, action, who=f"job {context.job_id}", job=context.job_id)
    out: dict[str, Any] = {
        "previous": result.previous.value,
        "sent": result.sent,
        "target": result.target.value,
    }
    if step.params.get("wait"):
        out["power"] = _settle(context, step.target, result.target, step.params["timeout"]).value
    return out


def _settle(context: JobContext, name: str, want: PowerState, timeout: float) -> PowerState:
    deadline = time.monotonic() + timeout
    while True:
        power = context.power.read(name).power
        if power is want:
            return power
        if time.monotonic() > deadline:
            raise KanriError(f"{name} is {power.value} after {timeout:g}s (want {want.value})")
        if context.stopping.wait(context.options.settle_poll):
            raise Stopped


def register(service: JobService) -> None:
    service.register(KIND, plan)
    service.register_action("power.set", power_step, idempotent=True)
    service.register_action("power.cycle", power_step, idempotent=False)
