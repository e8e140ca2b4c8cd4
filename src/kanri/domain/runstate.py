"""Run-state keeping (the paper's ③): what each partition was doing and who made it so,
frozen when its host is lost, so that exactly the partitions that were running come back.

A partition's run state is not its power state: it says *why* it is on or off. The power
state is what the BMC reads; the run state is what kanri restores. The transitions are a
table of data, total over (state, cause): every cause has an answer from every state, so
recording what happened never fails. Pure; docs/partitions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kanri.domain.errors import Invalid


class RunState(StrEnum):
    RUNNING = "running"
    STOPPED_BY_OPERATOR = "stopped_by_operator"  # stays off until an operator starts it
    STOPPED_BY_KANRI = "stopped_by_kanri"  # a cascade stopped it; its host's start restarts it
    LOST_WITH_HOST = "lost_with_host"  # it ran when its host failed or was forced off
    STOPPED_OUTSIDE = "stopped_outside"  # seen off, not by kanri: its OS shut down, a console
    OFF = "off"  # never started


class Cause(StrEnum):
    OPERATOR_START = "operator_start"
    OPERATOR_STOP = "operator_stop"  # graceful or forced, on the partition itself
    CASCADE_STOP = "cascade_stop"  # its host is being stopped: partitions first
    CASCADE_START = "cascade_start"  # its host started: the partitions it stopped come back
    HOST_FAILED = "host_failed"  # the host lost power or died
    HOST_FORCED_OFF = "host_forced_off"  # the host was forced off without a cascade
    HOST_BACK = "host_back"  # the host (or its replacement) is back: the lost ones start
    LAYOUT_RESTORED = "layout_restored"  # a layout applied elsewhere with its run states
    SEEN_ON = "seen_on"  # the monitor read it on, and no kanri command explains it
    SEEN_OFF = "seen_off"  # the monitor read it off, and no kanri command explains it


HOST_LOST = frozenset({Cause.HOST_FAILED, Cause.HOST_FORCED_OFF})
# The states whose partitions are started again when their host comes back.
RESTORED = frozenset({RunState.RUNNING, RunState.LOST_WITH_HOST})

_R, _OP, _KANRI = RunState.RUNNING, RunState.STOPPED_BY_OPERATOR, RunState.STOPPED_BY_KANRI
_LOST, _OUT, _OFF = RunState.LOST_WITH_HOST, RunState.STOPPED_OUTSIDE, RunState.OFF


def _row(state: RunState, **changes: RunState) -> dict[tuple[RunState, Cause], RunState]:
    """One state's row: the causes named move it, every other cause leaves it as it is."""
    unknown = set(changes) - {cause.value for cause in Cause}
    if unknown:  # a misspelt cause would otherwise leave the state silently unchanged
        raise ValueError(f"no such cause: {', '.join(sorted(unknown))}")
    return {(state, cause): changes.get(cause.value, state) for cause in Cause}


# (state, cause) -> the state after. Whatever is not named keeps the state (and so keeps
# who changed it last): a cascade stop never turns an operator's stop into kanri's, and a
# host's return never starts what an operator stopped.
TRANSITIONS: dict[tuple[RunState, Cause], RunState] = {
    **_row(
        _R,
        operator_stop=_OP,
        cascade_stop=_KANRI,
        host_failed=_LOST,
        host_forced_off=_LOST,
        seen_off=_OUT,
    ),
    **_row(_OP, operator_start=_R, seen_on=_R),
    **_row(_KANRI, operator_start=_R, operator_stop=_OP, cascade_start=_R, seen_on=_R),
    **_row(
        _LOST,
        operator_start=_R,
        operator_stop=_OP,  # the operator says: do not bring it back
        cascade_start=_R,
        host_back=_R,
        layout_restored=_R,
        seen_on=_R,
    ),
    **_row(_OUT, operator_start=_R, operator_stop=_OP, seen_on=_R),
    **_row(_OFF, operator_start=_R, seen_on=_R),
}


@dataclass(frozen=True, slots=True)
class Tracked:
    """A partition's run state and its last change: the cause, who (an operator's name,
    or "kanri" for jobs and cascades) and when. A new partition is off, changed by no one."""

    state: RunState = RunState.OFF
    cause: Cause | None = None
    by: str | None = None
    at: datetime | None = None


def step(state: RunState, cause: Cause) -> RunState:
    return TRANSITIONS[(state, cause)]


def record(tracked: Tracked, cause: Cause, by: str, at: datetime) -> Tracked:
    """``tracked`` after ``cause``; unchanged (who and when included) when the state is."""
    after = step(tracked.state, cause)
    if after is tracked.state:
        return tracked
    return Tracked(after, cause, by, at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The run states of a host's partitions at the moment it was lost, as they were just
    before (who changed each last included), and the cause that lost it."""

    at: datetime
    cause: Cause
    states: Mapping[str, Tracked] = field(default_factory=dict)

    def after(self) -> dict[str, Tracked]:
        """The states once the loss is recorded: the running ones lost with the host."""
        return {
            name: record(t, self.cause, "host", self.at) for name, t in sorted(self.states.items())
        }


def freeze(states: Mapping[str, Tracked], at: datetime, cause: Cause) -> Snapshot:
    """Freeze ``states`` (partition name -> tracked) at the moment a host was lost."""
    if cause not in HOST_LOST:
        raise Invalid(
            f"run states are frozen when a host is lost ({', '.join(sorted(HOST_LOST))}), "
            f"not on {cause}"
        )
    return Snapshot(at, cause, {name: states[name] for name in sorted(states)})


def to_start(snapshot: Snapshot) -> list[str]:
    """The partitions to start when the host (or its replacement) is back: exactly those
    that were running (or still lost from an earlier failure), never the stopped ones."""
    return restorable({name: t.state for name, t in snapshot.states.items()})


def restorable(states: Mapping[str, RunState]) -> list[str]:
    """The partitions among ``states`` that a restore starts, sorted."""
    return sorted(name for name, state in states.items() if state in RESTORED)
