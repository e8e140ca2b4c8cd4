"""The job and step state tables, and what a job's progress and outcome are."""

from __future__ import annotations

import pytest

from kanri.domain.jobs import (
    JOB_MOVES,
    STEP_MOVES,
    BadMove,
    Job,
    JobState,
    Step,
    StepState,
    check_job_move,
    check_step_move,
    outcome,
)


def test_every_state_has_a_row_and_ended_states_move_nowhere() -> None:
    assert set(JOB_MOVES) == set(JobState)
    assert set(STEP_MOVES) == set(StepState)
    for job_state in JobState:
        assert (JOB_MOVES[job_state] == frozenset()) == job_state.ended
    for step_state in StepState:
        assert (STEP_MOVES[step_state] == frozenset()) == step_state.ended


def test_allowed_and_refused_moves() -> None:
    check_job_move(JobState.PENDING, JobState.RUNNING)
    check_job_move(JobState.RUNNING, JobState.CANCELLING)
    check_job_move(JobState.CANCELLING, JobState.CANCELLED)
    with pytest.raises(BadMove, match="from succeeded to running"):
        check_job_move(JobState.SUCCEEDED, JobState.RUNNING)
    with pytest.raises(BadMove):
        check_job_move(JobState.CANCELLING, JobState.SUCCEEDED)
    check_step_move(StepState.STARTED, StepState.STARTED)  # a resumed attempt
    with pytest.raises(BadMove):
        check_step_move(StepState.PENDING, StepState.DONE)  # never acted without a journal
    with pytest.raises(BadMove):
        check_step_move(StepState.DONE, StepState.STARTED)


def _step(index: int, state: StepState, group: int = 0) -> Step:
    return Step(index, f"s{index}", f"m{index}", "a", {}, group, state)


def test_progress_groups_and_outcome() -> None:
    steps = (
        _step(0, StepState.DONE, group=1),
        _step(1, StepState.STARTED, group=0),
        _step(2, StepState.PENDING, group=1),
        _step(3, StepState.SKIPPED, group=2),
    )
    job = Job(1, "power", ("m0",), {}, JobState.RUNNING, steps)
    assert job.progress == 0.5
    assert [[s.index for s in g] for g in job.groups()] == [[1], [0, 2], [3]]
    assert outcome(steps, cancelling=True) is JobState.CANCELLED
    assert outcome(steps, cancelling=False) is JobState.FAILED
    assert outcome((_step(0, StepState.DONE),), cancelling=False) is JobState.SUCCEEDED
    assert Job(2, "power", (), {}, JobState.PENDING).progress == 0.0
