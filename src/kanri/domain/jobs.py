"""Durable jobs: a named operation on targets, made of ordered steps, as pure data.

A job's steps run group by group: the steps of one group run in parallel, the groups in
the order of their numbers. The states of jobs and steps, and the moves between them, are
tables; :func:`check_job_move` and :func:`check_step_move` are the only judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kanri.domain.errors import Conflict


class JobState(StrEnum):
    PENDING = "pending"  # planned and stored; waiting for its targets' locks
    RUNNING = "running"
    CANCELLING = "cancelling"  # asked to stop: no new step starts, running ones finish
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        return self in _JOB_ENDED


class StepState(StrEnum):
    PENDING = "pending"
    STARTED = "started"  # journaled before the action acts
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run because an earlier group failed
    CANCELLED = "cancelled"  # not run because the job was cancelled

    @property
    def ended(self) -> bool:
        return self in _STEP_ENDED


_JOB_ENDED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
_STEP_ENDED = frozenset({StepState.DONE, StepState.FAILED, StepState.SKIPPED, StepState.CANCELLED})

# state -> the states it may move to. An ended state moves nowhere.
JOB_MOVES: dict[JobState, frozenset[JobState]] = {
    # pending -> failed: its targets stayed held longer than the lock wait
    JobState.PENDING: frozenset({JobState.RUNNING, JobState.CANCELLING, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLING}),
    JobState.CANCELLING: frozenset({JobState.CANCELLED}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}

STEP_MOVES: dict[StepState, frozenset[StepState]] = {
    StepState.PENDING: frozenset({StepState.STARTED, StepState.SKIPPED, StepState.CANCELLED}),
    # started -> started: a manager died mid-step and the step is attempted again
    StepState.STARTED: frozenset({StepState.STARTED, StepState.DONE, StepState.FAILED}),
    StepState.DONE: frozenset(),
    StepState.FAILED: frozenset(),
    StepState.SKIPPED: frozenset(),
    StepState.CANCELLED: frozenset(),
}


# A failed step's ``result`` may say how it failed: ``{"failure": TIMEOUT}`` when it waited
# its ``timeout`` and the target did not get there (the CLI exits 7 for it, not 1).
TIMEOUT = "timeout"


class BadMove(Conflict):
    """A state change the tables do not allow."""


def check_job_move(old: JobState, new: JobState) -> None:
    if new not in JOB_MOVES[old]:
        raise BadMove(f"a job cannot go from {old.value} to {new.value}")


def check_step_move(old: StepState, new: StepState) -> None:
    if new not in STEP_MOVES[old]:
        raise BadMove(f"a step cannot go from {old.value} to {new.value}")


@dataclass(frozen=True, slots=True)
class StepSpec:
    """What a planner returns: one step to store, in order."""

    name: str
    target: str | None
    action: str  # the registered action that carries it out
    params: dict[str, Any] = field(default_factory=dict)
    group: int = 0  # same group: in parallel; groups run in ascending order


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    name: str
    target: str | None
    action: str
    params: dict[str, Any]
    group: int
    state: StepState = StepState.PENDING
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    targets: tuple[str, ...]
    params: dict[str, Any]
    state: JobState
    steps: tuple[Step, ...] = ()
    message: str | None = None  # what it waits for, while pending
    error: str | None = None
    owner: str | None = None  # the manager instance running it
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def progress(self) -> float:
        """Ended steps over all steps (0.0 to 1.0); a job without steps is done when ended."""
        if not self.steps:
            return 1.0 if self.state.ended else 0.0
        return sum(1 for s in self.steps if s.state.ended) / len(self.steps)

    def groups(self) -> list[list[Step]]:
        """The steps by group, in the order the groups run."""
        by: dict[int, list[Step]] = {}
        for step in sorted(self.steps, key=lambda s: s.index):
            by.setdefault(step.group, []).append(step)
        return [by[g] for g in sorted(by)]


def outcome(steps: tuple[Step, ...] | list[Step], cancelling: bool) -> JobState:
    """How a job whose steps have all ended, ends."""
    if cancelling:
        return JobState.CANCELLED
    if any(s.state in (StepState.FAILED, StepState.SKIPPED) for s in steps):
        return JobState.FAILED
    return JobState.SUCCEEDED
