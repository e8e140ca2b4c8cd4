"""The ``layout.apply`` job: carve a stored layout's partitions from another machine's pool,
place its servers on them and, with ``restore_states``, start exactly the partitions its
run states say (never one an operator had stopped). docs/partitions.md "Layouts".

targets: the layout's name. params: ``to`` (the machine to apply it to), ``version``
(default: the newest), ``restore_states`` (bool), ``by`` (who asked). The job holds the
layout's name, not the machine: the partitions and servers services refuse a machine that
a job holds, and each of their calls takes the machine's lock itself.

Refused at submit, before anything is stored or changed: an unknown machine or layout, a
machine not in hypervisor mode, a partition whose name and ``<machine>-<name>`` are both
other machines', a layout that does not fit the machine's pool as it is now (the
shortfall, one line each). A partition whose name another machine holds (the failed
source host's, still kept) is created as ``<machine>-<name>``; its servers follow.

Steps, each re-reading before it acts so that a resumed job does nothing twice:
one group per partition (``layout.create``: nothing when kanri keeps that partition on
that machine already), then the placements (``layout.place``: nothing when the server is
placed there; a server placed elsewhere is unplaced first), then, with ``restore_states``
and an unrestored snapshot of the source host, ``layout.claim`` (see ``_starts``), then
the starts (``layout.start``: the power is read first).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kanri.domain.errors import Conflict, Invalid
from kanri.domain.jobs import Step, StepSpec
from kanri.domain.layout_fit import fits, port_map, remap_ports
from kanri.domain.layouts import Layout
from kanri.domain.naming import check_name
from kanri.domain.partitions import MachineMode, PartitionSpec
from kanri.domain.runstate import Cause, RunState, restorable, to_start
from kanri.domain.states import PowerAction, PowerState
from kanri.engine.jobs import JobContext, JobService
from kanri.engine.layouts import APPLY_KIND, LayoutService
from kanri.store.partitions_repo import PartitionsRepository, spec_from_json, spec_to_json
from kanri.store.runstates_repo import RunStatesRepository, StoredSnapshot

_PARAMS = frozenset({"to", "version", "restore_states", "by"})


def _check(targets: list[str], params: dict[str, Any]) -> tuple[str, str, int | None, bool, str]:
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise Invalid(f"unknown {APPLY_KIND} job parameter(s): {', '.join(unknown)}")
    if len(targets) != 1:
        raise Invalid(f"a {APPLY_KIND} job applies one layout, {len(targets)} were named")
    name = targets[0]
    to = params.get("to")
    if not isinstance(to, str) or not to:
        raise Invalid(f"{APPLY_KIND} job 'to' is the machine to apply the layout to")
    version = params.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise Invalid(f"{APPLY_KIND} job 'version' is a whole number")
    restore = params.get("restore_states", False)
    if not isinstance(restore, bool):
        raise Invalid(f"{APPLY_KIND} job 'restore_states' is true or false")
    by = params.get("by", "operator")
    if not isinstance(by, str):
        raise Invalid(f"{APPLY_KIND} job 'by' is a name")
    return to, name, version, restore, by


class _Apply:
    def __init__(self, layouts: LayoutService) -> None:
        self.layouts = layouts
        self.partitions = PartitionsRepository(layouts.store.db)
        self.runstates = RunStatesRepository(layouts.store.db)

    # planning ---------------------------------------------------------------------------

    def plan(
        self, targets: list[str], params: dict[str, Any], context: JobContext
    ) -> list[StepSpec]:
        target, name, version, restore, by = _check(targets, params)
        context.repo.get_machine(target)  # NotFound before anything else
        stored, layout = self.layouts.layout(name, version)
        where = f"layout {name} version {stored.version} cannot be applied to {target}"
        pool = self.layouts.pool(target)
        if pool.mode is not MachineMode.HYPERVISOR:
            raise Conflict(
                f"{where}: it is in {pool.mode} mode, a layout is carved from a hypervisor's "
                f"pool (switch it first: kanri machine mode {target} hypervisor)"
            )
        todo, names = self._todo(layout, target, where)
        short = fits(todo, pool)
        if short:
            raise Conflict(f"{where}: {'; '.join(short)}")
        mapped = port_map(todo, pool)
        if isinstance(mapped, list):  # pragma: no cover - fits() reported it already
            raise Conflict(f"{where}: {'; '.join(mapped)}")
        todo = remap_ports(todo, mapped)
        servers = self._servers(layout, names, where)
        specs = [
            StepSpec(
                f"create partition {spec.name} on {target}",
                None,
                "layout.create",
                {"host": target, "spec": spec_to_json(spec), "by": by},
                group=i,
            )
            for i, spec in enumerate(todo.partitions)
        ]
        group = len(specs)
        specs += [
            StepSpec(
                f"place {p.server} on {names[p.partition]}",
                None,
                "layout.place",
                {"server": p.server, "partition": names[p.partition], "by": by},
                group=group,
            )
            for p in servers
        ]
        group += 1 if servers else 0
        if restore:
            specs += self._starts(layout, target, names, group, by)
        if not specs:
            raise Invalid(f"layout {name} version {stored.version} is on {target} already")
        return specs

    def _todo(self, layout: Layout, target: str, where: str) -> tuple[Layout, dict[str, str]]:
        """The layout less the partitions kanri keeps on ``target`` already with the same
        spec, and each partition's name on ``target``: its own, or ``<target>-<name>``
        when another machine holds its name (the source host's partition, still kept
        after a failure). Conflict when both names are taken."""
        todo: list[PartitionSpec] = []
        names: dict[str, str] = {}
        machines = {m.name for m in self.layouts.repo.list_machines()}
        for spec in layout.partitions:
            for candidate in (spec.name, f"{target}-{spec.name}"):
                kept = self.partitions.find(candidate)
                if kept is not None and kept.host == target and _same(kept.spec, spec):
                    names[spec.name] = candidate  # there already (a job resumed, or again)
                    break
                if kept is None and candidate not in machines and _valid(candidate):
                    names[spec.name] = candidate
                    todo.append(replace(spec, name=candidate))
                    break
            else:
                raise Conflict(
                    f"{where}: partition {spec.name}: that name and {target}-{spec.name} are "
                    "other machines' (import the layout under other partition names, or "
                    "remove them)"
                )
        return replace(layout, partitions=tuple(todo), servers=(), states={}), names

    def _starts(
        self, layout: Layout, target: str, names: dict[str, str], group: int, by: str
    ) -> list[StepSpec]:
        """The starts of ``--restore-states``. When the layout's source host has a
        snapshot not restored yet, what it lost (and is lost still) is started, not the
        layout's states (an export taken before the loss may be stale), and a claim comes
        first: the snapshot is restored (the host's return starts none of them) and the
        source's partitions moved are stopped by the operator. The claim comes after the
        placements, so a job that failed before leaves the snapshot to a new apply."""
        specs: list[StepSpec] = []
        states = layout.states
        snapshot = self._snapshot(layout)
        if snapshot is not None:
            lost = self._lost(snapshot, layout)
            states = dict.fromkeys(lost.values(), RunState.LOST_WITH_HOST)
            params = {"snapshot": snapshot.id, "host": snapshot.host, "moved": sorted(lost)}
            specs.append(
                StepSpec(
                    f"claim run states of {snapshot.host} (snapshot {snapshot.id})",
                    None,
                    "layout.claim",
                    {**params, "to": target, "by": by},
                    group=group,
                )
            )
        return specs + [
            StepSpec(
                f"start {names[p]}",
                None,
                "layout.start",
                {"partition": names[p], "by": by},
                group=group + len(specs),
            )
            for p in restorable(states)
            if p in names
        ]

    def _snapshot(self, layout: Layout) -> StoredSnapshot | None:
        """The source host's run states frozen at its loss and not restored yet, if any:
        newer than any layout exported before the loss, they are what an operator expects
        back (a partition stopped after the export stays stopped)."""
        return self.runstates.latest(layout.host.name, unrestored=True)

    def _lost(self, snapshot: StoredSnapshot, layout: Layout) -> dict[str, str]:
        """What the snapshot lost and is lost still (an operator's stop since the loss
        wins, as on the host's own return): the source host's partition -> its name in
        the layout (a layout imported from another manager may use the spec names)."""
        current = self.runstates.states(snapshot.host)
        spec_names = snapshot.spec_names or {}
        lost: dict[str, str] = {}
        for partition in to_start(snapshot.snapshot):
            if partition not in current or current[partition].state is not RunState.LOST_WITH_HOST:
                continue
            named = partition if layout.partition(partition) else spec_names.get(partition)
            if named is not None:
                lost[partition] = named
        return lost

    def _servers(self, layout: Layout, names: dict[str, str], where: str) -> list[Any]:
        if not layout.servers:
            return []
        servers = self.layouts.peer("servers")
        for placement in layout.servers:
            was = servers.placement(placement.server)  # NotFound for an unknown server
            if was is None or was == names.get(placement.partition):
                continue
            if self.layouts.repo.get_machine(was).power is not PowerState.OFF:
                raise Conflict(
                    f"{where}: server {placement.server} is placed on {was}, which is "
                    f"{self.layouts.repo.get_machine(was).power} (as last read): power it "
                    "off first, a server's identity is presented by one partition at a time"
                )
        return list(layout.servers)

    # steps ------------------------------------------------------------------------------

    def create(self, context: JobContext, step: Step) -> dict[str, Any]:
        host = step.params["host"]
        spec = spec_from_json(step.params["spec"])
        kept = self.partitions.find(spec.name)
        if kept is not None and kept.host == host:
            return {"partition": spec.name, "created": False}
        made = self.layouts.peer("partitions").create(host, spec, step.params.get("by", "kanri"))
        return {"partition": spec.name, "created": True, "system_id": made.id}

    def claim(self, context: JobContext, step: Step) -> dict[str, Any]:
        """Mark the snapshot restored (by this apply) and the source host's partitions it
        would start stopped by the operator who moved them: the host's return starts
        none of them, their servers run on the target now. Nothing twice when resumed."""
        snapshot_id, host = int(step.params["snapshot"]), str(step.params["host"])
        claimed = self.runstates.claim(snapshot_id)
        self.runstates.claim_older(host, snapshot_id)
        by = f"{step.params.get('by', 'kanri')} (layout applied to {step.params['to']})"
        moved = [str(p) for p in step.params.get("moved", [])]
        for partition in moved:
            self.runstates.record(partition, host, Cause.OPERATOR_STOP, by)
        return {"claimed": claimed, "moved": moved}

    def place(self, context: JobContext, step: Step) -> dict[str, Any]:
        """Place the server on its new partition; one placed elsewhere (on the source
        host's partition) is unplaced first, which needs that partition off: its
        identity is never presented by two partitions at once."""
        server, partition = step.params["server"], step.params["partition"]
        servers = self.layouts.peer("servers")
        by = step.params.get("by", "kanri")
        was = servers.placement(server)
        if was == partition:
            return {"placed": False}
        if was is not None:
            servers.unplace(server, by)
        servers.place(server, partition, by)
        return {"placed": True, "from": was}

    def start(self, context: JobContext, step: Step) -> dict[str, Any]:
        partition = step.params["partition"]
        result = context.power.set(
            partition, PowerAction.ON, who=f"job {context.job_id}", job=context.job_id
        )
        runstates = self.layouts.peers("runstates")
        if runstates is not None:  # the operator asked for the layout's run states back
            runstates.record(partition, Cause.OPERATOR_START, step.params.get("by", "kanri"))
        return {"previous": result.previous.value, "sent": result.sent}


def _valid(name: str) -> bool:
    try:
        check_name(name)
    except Invalid:
        return False
    return True


def _same(a: PartitionSpec, b: PartitionSpec) -> bool:
    """The same partition whatever port ids it landed on: a layout's ports are remapped."""
    return replace(a, name=b.name, ports=(), cpus=()) == replace(b, ports=(), cpus=()) and len(
        a.ports
    ) == len(b.ports)


def register(jobs: JobService, layouts: LayoutService) -> None:
    apply = _Apply(layouts)
    jobs.register(APPLY_KIND, apply.plan)
    jobs.register_action("layout.claim", apply.claim, idempotent=True)
    jobs.register_action("layout.create", apply.create, idempotent=True)
    jobs.register_action("layout.place", apply.place, idempotent=True)
    jobs.register_action("layout.start", apply.start, idempotent=True)
