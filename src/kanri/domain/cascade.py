"""Hierarchical power (the paper's ②): what a power command on machines and partitions
means, as ordered groups of steps.

Machines and their partitions are one tree. Stopping a host stops its running partitions
first (graceful, forced after a timeout), then the host; starting a host starts it, then
the partitions that should run; starting a partition whose host is off starts the host
first. Steps of one group may run in parallel; groups run in order. Pure: the engine turns
the plan into a job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.model import Machine
from kanri.domain.states import PowerAction, PowerState, SystemKind

# Reading "on" for these purposes: a partition that is starting must be stopped too.
_RUNNING = {PowerState.ON, PowerState.POWERING_ON, PowerState.UNKNOWN}
_STOPS = {PowerAction.OFF, PowerAction.FORCE_OFF}
_CYCLES = {PowerAction.RESTART, PowerAction.RESET}


def host_names(machines: Sequence[Machine]) -> dict[str, str]:
    """partition name -> its host's kanri name: the machine behind the same BMC URL whose
    system id is the partition's ``host_system_id`` (partitions whose host kanri does not
    know are left out: they are planned alone)."""
    by_system = {(m.bmc_url, m.system_id): m.name for m in machines}
    hosts: dict[str, str] = {}
    for m in machines:
        inv = m.inventory
        if inv.kind is SystemKind.PARTITION and inv.host_system_id:
            host = by_system.get((m.bmc_url, inv.host_system_id))
            if host is not None and host != m.name:
                hosts[m.name] = host
    return hosts


@dataclass(frozen=True, slots=True)
class Node:
    """One machine or partition as the planner needs it."""

    name: str
    kind: SystemKind
    power: PowerState
    host: str | None = None  # a partition's machine (kanri name)
    should_run: bool = False  # a partition to start when its host starts


@dataclass(frozen=True, slots=True)
class PlannedStep:
    group: int
    target: str
    action: PowerAction
    # A graceful stop of a partition is forced after this many seconds (None: never).
    force_after: float | None = None
    why: str = ""


def partitions_of(tree: Mapping[str, Node], host: str) -> list[Node]:
    return sorted(
        (n for n in tree.values() if n.kind is SystemKind.PARTITION and n.host == host),
        key=lambda n: n.name,
    )


def plan(
    action: PowerAction,
    targets: Iterable[str],
    tree: Mapping[str, Node],
    *,
    cascade: bool = True,
    graceful_timeout: float = 120.0,
) -> list[PlannedStep]:
    """The steps of ``action`` on ``targets``, in groups; refused (Conflict) where acting on
    one target alone would be unsafe and ``cascade`` is off."""
    names = list(dict.fromkeys(targets))
    for name in names:
        if name not in tree:
            raise NotFound(f"no machine or partition named {name!r}")
    if action in _STOPS:
        return _stop(action, names, tree, cascade, graceful_timeout)
    if action is PowerAction.ON:
        return _start(names, tree, cascade)
    if action in _CYCLES:
        return _cycle(action, names, tree, cascade, graceful_timeout)
    raise ValueError(f"unplanned action {action}")  # pragma: no cover - enum is closed


def _running_partitions(tree: Mapping[str, Node], host: str) -> list[Node]:
    return [p for p in partitions_of(tree, host) if p.power in _RUNNING]


def _refuse_alone(host: str, running: list[Node], what: str) -> Conflict:
    names = ", ".join(p.name for p in running)
    return Conflict(
        f"{host} has running partitions ({names}): {what} it alone would kill them; "
        "stop them first, or leave out --no-cascade"
    )


def _stop_partitions(
    parts: list[Node], action: PowerAction, timeout: float, group: int, why: str
) -> list[PlannedStep]:
    forced = action is PowerAction.FORCE_OFF
    return [PlannedStep(group, p.name, action, None if forced else timeout, why) for p in parts]


def _stop(
    action: PowerAction,
    names: list[str],
    tree: Mapping[str, Node],
    cascade: bool,
    timeout: float,
) -> list[PlannedStep]:
    first: dict[str, PlannedStep] = {}
    hosts: list[PlannedStep] = []
    for name in names:
        node = tree[name]
        if node.kind is SystemKind.PARTITION:
            first.setdefault(name, _stop_partitions([node], action, timeout, 0, "asked")[0])
            continue
        running = _running_partitions(tree, name)
        if running and not cascade:
            raise _refuse_alone(name, running, "stopping")
        for step in _stop_partitions(running, action, timeout, 0, f"before its host {name}"):
            first.setdefault(step.target, step)
        hosts.append(PlannedStep(1, name, action, None, "asked"))
    return _compact([*first.values(), *hosts])


def _start(names: list[str], tree: Mapping[str, Node], cascade: bool) -> list[PlannedStep]:
    hosts: dict[str, PlannedStep] = {}
    parts: dict[str, PlannedStep] = {}
    for name in names:
        node = tree[name]
        if node.kind is SystemKind.PARTITION:
            host = tree.get(node.host or "")
            if host is not None and host.power not in _RUNNING:
                if not cascade:
                    raise Conflict(
                        f"the host {host.name} of {name} is off: start it first, or leave "
                        "out --no-cascade"
                    )
                hosts.setdefault(host.name, PlannedStep(0, host.name, PowerAction.ON, None,
                                                        f"host of {name}"))  # fmt: skip
            parts[name] = PlannedStep(1, name, PowerAction.ON, None, "asked")
            continue
        hosts[name] = PlannedStep(0, name, PowerAction.ON, None, "asked")
        if cascade:
            for p in partitions_of(tree, name):
                if p.should_run:
                    parts.setdefault(p.name, PlannedStep(1, p.name, PowerAction.ON, None,
                                                         f"should run on {name}"))  # fmt: skip
    return _compact([*hosts.values(), *parts.values()])


def _cycle(
    action: PowerAction,
    names: list[str],
    tree: Mapping[str, Node],
    cascade: bool,
    timeout: float,
) -> list[PlannedStep]:
    """Restart/reset: a host's running partitions stop first and come back after it."""
    steps: list[PlannedStep] = []
    for name in names:
        node = tree[name]
        running = [] if node.kind is SystemKind.PARTITION else _running_partitions(tree, name)
        if running and not cascade:
            raise _refuse_alone(name, running, "restarting")
        steps += _stop_partitions(running, PowerAction.OFF, timeout, 0, f"before {name}")
        steps.append(PlannedStep(1, name, action, None, "asked"))
        steps += [PlannedStep(2, p.name, PowerAction.ON, None, f"ran on {name}") for p in running]
    return _compact(steps)


def _compact(steps: list[PlannedStep]) -> list[PlannedStep]:
    """Groups numbered 0, 1, ... with none empty, in order."""
    renumber = {g: i for i, g in enumerate(sorted({s.group for s in steps}))}
    return [PlannedStep(renumber[s.group], s.target, s.action, s.force_after, s.why) for s in steps]
