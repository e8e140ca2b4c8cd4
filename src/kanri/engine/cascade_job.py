"""Hierarchical power for the ``power`` job: the power tree from the store, and the
graceful stop that is forced after a timeout.

The tree: every machine, with its kind, its host (the kanri name of the machine behind the
same BMC URL whose system id is the partition's ``host_system_id``) and its power as last
read. ``kanri.domain.cascade.plan`` turns it into ordered groups of steps.

"Should run" (a partition to start when its host starts) is its run state
(engine/runstates.py, docs/partitions.md "Run states"): stopped by a cascade — a stop sent
because its host was being stopped while the partition was running, recorded before the
stop is sent (and journaled as a ``power.cascade_stop`` event, ``cascade_stop: true`` in
its result) — or lost with its host. Any later command on the partition (a start, an
operator's stop) changes the run state. A partition an operator stopped on purpose
therefore stays off when its host comes back.
"""

from __future__ import annotations

import time
from typing import Any

from kanri.domain.cascade import Node, host_names
from kanri.domain.errors import KanriError, TimedOut
from kanri.domain.jobs import Step
from kanri.domain.model import Machine
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.engine import runstates
from kanri.engine.job_runner import Stopped
from kanri.engine.jobs import JobContext
from kanri.store.repo import Repository

CASCADE_STOP = "power.cascade_stop"
_OFF = frozenset({PowerState.OFF})
_GOING_OFF = frozenset({PowerState.OFF, PowerState.POWERING_OFF})


def should_run(repo: Repository, partition: str) -> bool:
    """True when a cascade stopped ``partition`` (or it was lost with its host) and nothing
    changed its run state since: the stopping job's own commands (its graceful off, its
    forced off, a resumed attempt) record nothing more."""
    return runstates.hooks(repo).should_run(partition)


def power_tree(repo: Repository, *, with_should_run: bool) -> dict[str, Node]:
    machines = repo.list_machines()
    hosts = host_names(machines)
    tree: dict[str, Node] = {}
    for m in machines:
        host = hosts.get(m.name)
        run = with_should_run and host is not None and should_run(repo, m.name)
        tree[m.name] = Node(m.name, m.inventory.kind, planning_power(m), host, run)
    return tree


def planning_power(m: Machine) -> PowerState:
    """The stored power, unless a command was sent since it was last seen to change (not
    confirmed yet): then a machine counts as what was asked (a host asked off is started
    again by a start that needs it; its start step reads the real state first), and a
    partition as unknown, which the planner stops like a running one (its stop step reads
    the real state first)."""
    asked, seen = m.power_commanded_at, m.power_checked_at
    pending = asked is not None and (seen is None or asked > seen)
    if not pending or m.desired_power is None or m.power is m.desired_power:
        return m.power
    if m.inventory.kind is SystemKind.PARTITION:
        return PowerState.UNKNOWN
    return m.desired_power


def stop_step(context: JobContext, step: Step) -> dict[str, Any]:
    """Stop a partition before its host: graceful off, re-read the power until it is off,
    force it off after ``force_after`` seconds (None: never; then it fails after
    ``timeout``). Idempotent by state: a resumed step reads the power first, does nothing
    when the partition is off, and waits for a graceful stop already under way."""
    name = step.target
    if name is None:
        raise KanriError("a stop step needs a target")
    action = PowerAction(step.params["action"])
    force_after = step.params.get("force_after")
    timeout = float(step.params.get("timeout", 300))
    who = f"job {context.job_id}"
    host = step.params.get("cascade_of")
    # The intent is journaled before the stop is sent: a partition running now should run
    # again when its host starts, even if the manager dies right after sending.
    previous = context.power.read(name).power
    cascade_stop = bool(host) and previous not in _GOING_OFF
    if cascade_stop:
        context.repo.add_event(
            CASCADE_STOP,
            "info",
            name,
            f"{who} stops {name} before its host {host}; it should run again when the host starts",
            {"job": context.job_id, "host": host, "was": previous.value},
        )
    if cascade_stop or not host:  # run states: engine/runstates.py
        runstates.hooks(context.repo).before_step(name, action, step.params)
    sent = context.power.set(name, action, who=who, job=context.job_id)
    out: dict[str, Any] = {"previous": previous.value, "sent": sent.sent, "forced": False}
    if cascade_stop:
        out["cascade_stop"] = True
    wait_first = float(force_after) if force_after is not None else timeout
    if _wait_for(context, name, _OFF, wait_first):
        out["power"] = PowerState.OFF.value
        return out
    if force_after is None:
        raise TimedOut(f"{name} is not off after {timeout:g}s")
    forced = context.power.set(
        name, PowerAction.FORCE_OFF, who=f"{who} (forced)", job=context.job_id
    )
    out["forced"] = forced.sent
    out["forced_after"] = force_after
    if not _wait_for(context, name, _OFF, timeout):
        raise TimedOut(f"{name} is not off {timeout:g}s after it was forced off")
    out["power"] = PowerState.OFF.value
    return out


def _wait_for(context: JobContext, name: str, want: frozenset[PowerState], limit: float) -> bool:
    """Re-read the power until it is one of ``want`` (True) or ``limit`` seconds pass."""
    deadline = time.monotonic() + limit
    while True:
        if context.power.read(name).power in want:
            return True
        if time.monotonic() > deadline:
            return False
        if context.stopping.wait(min(context.options.settle_poll, max(limit, 0.01))):
            raise Stopped
