"""RunStateService: run-state keeping (the paper's ③) over the store and the jobs.

Where run states change (docs/partitions.md "Run states"):
- kanri's power steps on a partition (power_job, cascade_job): ``step_done`` /
  ``before_stop`` name the cause from the step (an operator's start or stop, a cascade's
  stop or start, a restore);
- an operator's forced stop of a host with running partitions: ``before_stop`` freezes
  the host (``host_forced_off``) before the first power is cut;
- the sync loop's readings (``after_sweep``): partitions seen on/off with no command of
  kanri's explaining it, a host seen off (or unreachable) that kanri did not turn off
  (``host_failed``, frozen with the drift or unreachable event), and a host running again
  with a snapshot not restored: ``restore`` submits one power job starting exactly the
  partitions the snapshot lost and that are still lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kanri.domain.cascade import host_names
from kanri.domain.errors import Conflict, NotFound
from kanri.domain.model import Machine
from kanri.domain.monitoring import UNREACHABLE
from kanri.domain.runstate import Cause, RunState, Tracked, to_start
from kanri.domain.states import PowerAction, PowerState, SystemKind
from kanri.store.repo import Repository
from kanri.store.runstates_repo import RunStatesRepository, StoredSnapshot

__all__ = ["RunStateService", "StoredSnapshot", "hooks", "step_cause"]

log = logging.getLogger(__name__)

KANRI = "kanri"
FROZEN = "runstate.frozen"
RESTORED = "runstate.restored"
# The power job parameter a restore sets: the cause its starts record.
RESTORE_CAUSES = frozenset({Cause.HOST_BACK.value, Cause.LAYOUT_RESTORED.value})
# Run states a host's start brings back (the cascade's "should run", docs/partitions.md).
SHOULD_RUN = frozenset({RunState.STOPPED_BY_KANRI, RunState.LOST_WITH_HOST})
_LOSS_EVENTS = frozenset({"power.drift", UNREACHABLE})
_STOPS = frozenset({PowerAction.OFF, PowerAction.FORCE_OFF})

Submit = Callable[[list[str], dict[str, Any]], int]


def step_cause(action: PowerAction, params: dict[str, Any]) -> Cause:
    """The cause a power step on a partition records, from its action and why it runs."""
    if action in _STOPS:  # a stop before a host's (power_job plans ``cascade_of``)
        return Cause.CASCADE_STOP if params.get("cascade_of") else Cause.OPERATOR_STOP
    asked = params.get("why", "asked") == "asked"
    restore = params.get("restore")
    if restore in RESTORE_CAUSES:
        return Cause(restore)
    return Cause.OPERATOR_START if asked else Cause.CASCADE_START


class RunStateService:
    def __init__(self, repo: Repository, store: RunStatesRepository) -> None:
        self.repo = repo
        self.store = store
        # Submits a power job (targets, params) -> its id; set by the manager.
        self.submit: Submit | None = None
        # Which live job holds a machine; a host a job is starting is left to the job.
        self.job_holder: Callable[[str], int | None] = lambda _name: None

    # reading ------------------------------------------------------------------------

    def states(self, host: str) -> dict[str, Tracked]:
        machine = self.repo.get_machine(host)
        if machine.inventory.kind is SystemKind.PARTITION:
            raise Conflict(f"{host} is a partition: run states are kept per host")
        kept = self.store.states(host)
        machines = self.repo.list_machines()
        power = {m.name: m.power for m in machines}
        # Partitions found on the BMC that kanri has not recorded yet: as they were found.
        for name, of in host_names(machines).items():
            if of == host and name not in kept:
                kept[name] = Tracked(_found(power[name]))
        return dict(sorted(kept.items()))

    def latest_snapshot(self, host: str) -> StoredSnapshot | None:
        return self.store.latest(host)

    def snapshots(self, host: str | None = None) -> list[StoredSnapshot]:
        return self.store.snapshots(host)

    def snapshot(self, snapshot_id: int) -> StoredSnapshot:
        return self.store.snapshot(snapshot_id)

    def should_run(self, partition: str) -> bool:
        """Started when its host starts: a cascade stopped it, or it was lost with it."""
        return self.store.tracked(partition).state in SHOULD_RUN

    # recording ----------------------------------------------------------------------

    def record(self, partition: str, cause: Cause, by: str = KANRI) -> Tracked:
        found = self._where(partition)
        if found is None:
            self.repo.get_machine(partition)  # NotFound first
            raise Conflict(f"{partition} is not a partition of a host kanri knows")
        host, initial = found
        before, after = self.store.record(partition, host, cause, by, initial=initial)
        if after is not before:
            log.info("%s: %s -> %s (%s by %s)", partition, before.state, after.state, cause, by)
        return after

    def _where(self, partition: str) -> tuple[str, RunState] | None:
        """``partition``'s host and the state it is first kept in (as found: running if
        its power reads on); None if it is not a partition of a host kanri knows."""
        machine = self.repo.get_machine(partition)
        if machine.inventory.kind is not SystemKind.PARTITION:
            return None  # a host's commands (most of them) cost one read, not the list
        host = host_names(self.repo.list_machines()).get(partition)
        return None if host is None else (host, _found(machine.power))

    def freeze(
        self,
        host: str,
        cause: Cause,
        event_id: int | None = None,
        by: str = KANRI,
        before: dict[str, PowerState] | None = None,
    ) -> int | None:
        """Freeze ``host``'s run states; the snapshot's id, None if nothing was running.
        ``before``: partitions' power just before the loss (a sweep reads them off with
        their host), for those kanri has not recorded yet."""
        machines = self.repo.list_machines()
        power = {m.name: m.power for m in machines}
        for name, of in host_names(machines).items():
            if of == host:
                self.store.ensure(name, host, _found((before or {}).get(name, power[name])))
        stored = self.store.freeze(host, cause, event_id, by)
        if stored is None:
            return None
        running = to_start(stored.snapshot)
        self.repo.add_event(
            FROZEN,
            "warning",
            host,
            f"{host} lost ({cause}): run states frozen in snapshot {stored.id}; "
            f"running then: {', '.join(running) or 'none'}",
            {"snapshot": stored.id, "cause": cause.value, "running": running, "event": event_id},
        )
        return stored.id

    def restore(
        self, host_or_snapshot: str | int, onto_host: str | None = None, by: str = KANRI
    ) -> int | None:
        """Start exactly what the snapshot lost (its newest, for a host) and is still lost,
        as one power job; its id, or None when nothing is left to start. The snapshot is
        claimed first, so two managers never both restore it."""
        stored = self._snapshot_of(host_or_snapshot)
        if stored.restored_at is not None:
            raise Conflict(f"snapshot {stored.id} of {stored.host} was restored already")
        onto = onto_host or stored.host
        targets = self._still_lost(stored, onto)
        if not self.store.claim(stored.id):
            raise Conflict(f"snapshot {stored.id} of {stored.host} was restored already")
        self.store.claim_older(stored.host, stored.id)
        cause = Cause.HOST_BACK if onto == stored.host else Cause.LAYOUT_RESTORED
        job_id: int | None = None
        if targets:
            if self.submit is None:
                self.store.unclaim(stored.id)
                raise Conflict("no job service to start the partitions with")
            params = {"action": "on", "wait": True, "by": by, "restore": cause.value}
            try:
                job_id = self.submit(targets, params)
            except Exception:
                self.store.unclaim(stored.id)  # nothing was started: it can be tried again
                raise
        self.repo.add_event(
            RESTORED,
            "info",
            onto,
            f"snapshot {stored.id} of {stored.host} restored on {onto} by {by}: "
            + (f"job {job_id} starts {', '.join(targets)}" if targets else "nothing to start"),
            {"snapshot": stored.id, "job": job_id, "start": targets, "by": by},
        )
        return job_id

    def _snapshot_of(self, host_or_snapshot: str | int) -> StoredSnapshot:
        if isinstance(host_or_snapshot, int):
            return self.store.snapshot(host_or_snapshot)
        stored = self.store.latest(host_or_snapshot)
        if stored is None:
            raise NotFound(f"no run-state snapshot of {host_or_snapshot}")
        return stored

    def _still_lost(self, stored: StoredSnapshot, onto: str) -> list[str]:
        """The partitions of ``onto`` to start: on the host itself, those the snapshot
        would start that are still lost (an operator's stop since then wins; a cascade
        that started them already leaves nothing). Elsewhere (a layout applied with its
        run states), the partitions whose name, or spec name, the snapshot would start
        and that are not running or stopped by an operator."""
        wanted = to_start(stored.snapshot)
        current = self.store.states(onto)
        if onto == stored.host:
            return [
                n for n in wanted if n in current and current[n].state is RunState.LOST_WITH_HOST
            ]
        names = set(wanted) | {(stored.spec_names or {}).get(n, n) for n in wanted}
        spec = self.store.spec_names(onto)
        keep = {RunState.OFF, RunState.LOST_WITH_HOST, RunState.STOPPED_BY_KANRI}
        return sorted(
            n
            for n, t in current.items()
            if (n in names or spec.get(n) in names) and t.state in keep
        )

    # hooks --------------------------------------------------------------------------

    def before_step(self, target: str, action: PowerAction, params: dict[str, Any]) -> None:
        """Before a power step sends a stop (journaled intent: a manager dying right
        after sending still knows why it is off). A forced stop of a host, or of its
        partitions first in its cascade, freezes the host with ``host_forced_off``; a
        partition's stop records an operator's or a cascade's stop."""
        if action not in _STOPS:
            return
        by = str(params.get("by") or KANRI)
        host = params.get("cascade_of")
        if action is PowerAction.FORCE_OFF and host:
            self.freeze(str(host), Cause.HOST_FORCED_OFF, by=by)
            return
        found = self._where(target)
        if found is None:
            if action is PowerAction.FORCE_OFF:  # a host forced off alone (nothing ran, or
                self.freeze(target, Cause.HOST_FORCED_OFF, by=by)  # --no-cascade)
            return
        host_name, initial = found
        self.store.record(target, host_name, step_cause(action, params), by, initial=initial)

    def after_step(self, target: str, action: PowerAction, params: dict[str, Any]) -> None:
        """After a power step started (or restarted) ``target``: a partition's start."""
        if action in _STOPS:
            return
        found = self._where(target)
        if found is not None:
            cause = step_cause(PowerAction.ON, params)
            by = str(params.get("by") or KANRI)
            self.store.record(target, found[0], cause, by, initial=found[1])

    def after_sweep(self, readings: Sequence[tuple[Machine, PowerState | None]]) -> None:
        """The sync loop's changes, in order: hosts lost are frozen first (their
        partitions read off with them are not "stopped outside"), then partitions seen
        on or off with no command of kanri's explaining it, then hosts back restored."""
        if readings:
            machines = self.repo.list_machines()
            hosts = host_names(machines)
            now = {m.name: m for m in machines}
            before = {m.name: m.power for m, _ in readings}
            for machine, power in readings:
                name = machine.name
                if name not in hosts and self._lost(machine, power, now.get(name)):
                    self.freeze(name, Cause.HOST_FAILED, self._loss_event(name), before=before)
            for machine, power in readings:
                host = hosts.get(machine.name)
                if host is not None:
                    self._seen(machine, power, now.get(host), now.get(machine.name))
        for host in self.store.unrestored_hosts():
            self._maybe_back(host)

    @staticmethod
    def _lost(machine: Machine, power: PowerState | None, now: Machine | None) -> bool:
        """A host read off that kanri did not turn off, or whose BMC stopped answering (its
        power may be lost: freezing only records, nothing is started before it is back)."""
        if power is None:
            return True
        commanded = now.desired_power if now is not None else machine.desired_power
        return power is PowerState.OFF and commanded is not PowerState.OFF

    def _loss_event(self, host: str) -> int | None:
        """The drift or unreachable event the sweep recorded for ``host``, if any."""
        for event in self.repo.list_events(host, limit=5):
            if event["kind"] in _LOSS_EVENTS:
                return int(event["id"])
        return None

    def _seen(
        self, was: Machine, power: PowerState | None, host: Machine | None, now: Machine | None
    ) -> None:
        if power not in (PowerState.ON, PowerState.OFF) or now is None:
            return
        if host is None or host.power is not PowerState.ON or not host.reachable:
            return  # lost with its host, or unknown: the host's loss says it
        if self._commanded(now):
            return  # kanri's own command settling: the step records it
        cause = Cause.SEEN_ON if power is PowerState.ON else Cause.SEEN_OFF
        self.store.record(now.name, host.name, cause, "seen", initial=_found(was.power))

    @staticmethod
    def _commanded(m: Machine, grace: timedelta = timedelta(minutes=2)) -> bool:
        asked = m.power_commanded_at
        return (
            asked is not None and datetime.now(UTC) - asked < grace and (m.desired_power is m.power)
        )

    def _maybe_back(self, host: str) -> None:
        try:
            machine = self.repo.get_machine(host)
        except NotFound:
            return
        if machine.power is not PowerState.ON or not machine.reachable:
            return
        if self.job_holder(host) is not None:
            return  # a job is starting it: its cascade starts the lost ones
        try:
            self.restore(host)
        except Conflict as exc:  # another manager restored it first
            log.info("restore of %s: %s", host, exc)


def _found(power: PowerState) -> RunState:
    return RunState.RUNNING if power is PowerState.ON else RunState.OFF


def hooks(repo: Repository) -> RunStateService:
    """The service as power steps use it (recording only: no job submission)."""
    return RunStateService(repo, RunStatesRepository(repo.db))
