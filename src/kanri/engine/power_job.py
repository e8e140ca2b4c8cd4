"""The ``power`` job kind: one power action over machines and partitions, as the
hierarchical plan of ``kanri.domain.cascade`` (groups run in order, steps of a group in
parallel): partitions stop before their host (graceful, forced after ``graceful_timeout``)
and start after it; a partition's off host starts first.

params: ``action`` (on, off, force_off, restart, reset), ``cascade`` (bool, default true;
false: act on the targets alone, refused where that would be unsafe), ``graceful_timeout``
(seconds before a partition's graceful stop is forced, default 120), ``wait`` (bool: the
step ends when the machine reads back in the target state; steps a later group depends
on always wait), ``timeout`` (seconds for a wait, default 300), ``max_parallel`` (steps
at once; default all). The per-BMC cap of the drivers still applies underneath.

``on``, ``off`` and ``force_off`` are idempotent by state: the step reads the power first
and sends nothing when the machine is already there (or on its way). ``restart`` and
``reset`` are not (a machine that was reset reads "on" like one that was not), so a step
of theirs interrupted by a manager's death is not repeated (see job_runner).
"""

from __future__ import annotations

import time
from typing import Any

from kanri.domain import cascade
from kanri.domain.errors import BmcError, BmcUnreachable, Invalid, TimedOut
from kanri.domain.jobs import Step, StepSpec
from kanri.domain.states import PowerAction, PowerState
from kanri.engine import cascade_job, runstates
from kanri.engine.job_runner import Stopped
from kanri.engine.jobs import JobContext, JobService
from kanri.engine.servers import resolve_target

KIND = "power"
_CYCLES = frozenset({PowerAction.RESTART, PowerAction.RESET})
_PARAMS = frozenset({"action", "wait", "timeout", "max_parallel", "cascade", "graceful_timeout"})
# Run states (engine/runstates.py): who asked (the API sets it), and a restore's cause.
_PARAMS |= {"by", "restore"}
_STOPS = frozenset({PowerAction.OFF, PowerAction.FORCE_OFF})


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
    if not isinstance(params.get("cascade", True), bool):
        raise Invalid("power job 'cascade' is true or false")
    graceful = params.get("graceful_timeout", 120)
    if isinstance(graceful, bool) or not isinstance(graceful, int | float) or graceful < 0:
        raise Invalid("power job 'graceful_timeout' is a number of seconds, 0 or more")
    if params.get("restore") not in {None, *runstates.RESTORE_CAUSES}:
        raise Invalid("power job 'restore' is host_back or layout_restored")
    return action, wait, float(timeout)


def plan(targets: list[str], params: dict[str, Any], context: JobContext) -> list[StepSpec]:
    action, wait, timeout = check_params(params)
    # A server's name acts on its placement; NotFound before anything is stored.
    targets = list(dict.fromkeys(resolve_target(context.repo, t) for t in targets))
    tree = cascade_job.power_tree(context.repo, with_should_run=action is PowerAction.ON)
    planned = cascade.plan(
        action,
        targets,
        tree,
        cascade=params.get("cascade", True),
        graceful_timeout=float(params.get("graceful_timeout", 120)),
    )
    last = max((p.group for p in planned), default=0)
    specs: list[StepSpec] = []
    for p in planned:
        # A step a later group depends on (a partition off before its host, a host on
        # before its partitions) always waits until the machine gets there.
        step_params: dict[str, Any] = {
            "action": p.action.value,
            "wait": wait or p.group < last,
            "timeout": timeout,
            "why": p.why,
            **{k: params[k] for k in ("by", "restore") if params.get(k)},
        }
        node = tree[p.target]
        if p.action in _STOPS and node.host is not None and p.group < last:
            step_params["force_after"] = p.force_after
            step_params["cascade_of"] = node.host if p.why != "asked" else None
            name, fn = f"stop {p.target}", "power.stop"
        elif p.action is PowerAction.ON and node.host is not None and _may_wait_host(p, params):
            name, fn = f"on {p.target}", "power.start"
        elif p.action in _CYCLES:
            name, fn = f"{p.action.value} {p.target}", "power.cycle"
        else:
            name, fn = f"{p.action.value} {p.target}", "power.set"
        specs.append(StepSpec(name, p.target, fn, step_params, group=p.group))
    return specs


def _may_wait_host(p: cascade.PlannedStep, params: dict[str, Any]) -> bool:
    """A partition started after its host, or by a restore (its host may still be booting
    its hypervisor): a ``power.start`` step, which tries again meanwhile."""
    return p.group > 0 or bool(params.get("restore"))


def power_step(context: JobContext, step: Step) -> dict[str, Any]:
    """Read the power, send the action only if the table says so, then maybe wait."""
    if step.target is None:
        raise Invalid("a power step needs a target")
    action = PowerAction(step.params["action"])
    runstates.hooks(context.repo).before_step(step.target, action, step.params)
    result = context.power.set(step.target, action, who=f"job {context.job_id}", job=context.job_id)
    runstates.hooks(context.repo).after_step(step.target, action, step.params)
    out: dict[str, Any] = {
        "previous": result.previous.value,
        "sent": result.sent,
        "target": result.target.value,
    }
    if step.params.get("wait"):
        out["power"] = _settle(context, step.target, result.target, step.params["timeout"]).value
    return out


def start_step(context: JobContext, step: Step) -> dict[str, Any]:
    """Start a partition after its host: a host that reads "on" may still be booting its
    hypervisor, and its BMC refuses the partition's start meanwhile; the step tries again
    (re-reading the power each time, so nothing is sent twice) until ``timeout``."""
    timeout = float(step.params.get("timeout", 300))
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        try:
            result = power_step(context, step)
        except BmcError as exc:
            if isinstance(exc, BmcUnreachable) or time.monotonic() > deadline:
                raise
            if context.stopping.wait(context.options.settle_poll):
                raise Stopped from None
            continue
        return {**result, "tries": tries}


def _settle(context: JobContext, name: str, want: PowerState, timeout: float) -> PowerState:
    deadline = time.monotonic() + timeout
    while True:
        power = context.power.read(name).power
        if power is want:
            return power
        if time.monotonic() > deadline:
            raise TimedOut(f"{name} is {power.value} after {timeout:g}s (want {want.value})")
        if context.stopping.wait(context.options.settle_poll):
            raise Stopped


def register(service: JobService) -> None:
    service.register(KIND, plan)
    service.register_action("power.set", power_step, idempotent=True)
    service.register_action("power.cycle", power_step, idempotent=False)
    service.register_action("power.stop", cascade_job.stop_step, idempotent=True)
    service.register_action("power.start", start_step, idempotent=True)
