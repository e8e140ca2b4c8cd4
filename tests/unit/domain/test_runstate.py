"""Run-state keeping: the transition table, freezing at a host's loss, what comes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanri.domain.errors import Invalid
from kanri.domain.runstate import (
    TRANSITIONS,
    Cause,
    RunState,
    Snapshot,
    Tracked,
    freeze,
    record,
    restorable,
    step,
    to_start,
)

S, C = RunState, Cause
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def test_the_table_answers_every_cause_from_every_state() -> None:
    assert set(TRANSITIONS) == {(s, c) for s in RunState for c in Cause}


# (state, cause, state after): the cases that make run-state keeping what it is.
CASES = [
    # An operator's start and stop always win.
    (S.OFF, C.OPERATOR_START, S.RUNNING),
    (S.RUNNING, C.OPERATOR_STOP, S.STOPPED_BY_OPERATOR),
    (S.STOPPED_BY_OPERATOR, C.OPERATOR_START, S.RUNNING),
    (S.STOPPED_BY_KANRI, C.OPERATOR_STOP, S.STOPPED_BY_OPERATOR),
    (S.LOST_WITH_HOST, C.OPERATOR_STOP, S.STOPPED_BY_OPERATOR),
    (S.STOPPED_OUTSIDE, C.OPERATOR_STOP, S.STOPPED_BY_OPERATOR),
    (S.OFF, C.OPERATOR_STOP, S.OFF),
    # A cascade stops the running ones and brings back only those it stopped.
    (S.RUNNING, C.CASCADE_STOP, S.STOPPED_BY_KANRI),
    (S.STOPPED_BY_OPERATOR, C.CASCADE_STOP, S.STOPPED_BY_OPERATOR),
    (S.STOPPED_BY_KANRI, C.CASCADE_START, S.RUNNING),
    (S.STOPPED_BY_OPERATOR, C.CASCADE_START, S.STOPPED_BY_OPERATOR),
    (S.OFF, C.CASCADE_START, S.OFF),
    (S.STOPPED_OUTSIDE, C.CASCADE_START, S.STOPPED_OUTSIDE),
    (S.LOST_WITH_HOST, C.CASCADE_START, S.RUNNING),
    # A host lost (failed or forced off) loses the running ones, and only those.
    (S.RUNNING, C.HOST_FAILED, S.LOST_WITH_HOST),
    (S.RUNNING, C.HOST_FORCED_OFF, S.LOST_WITH_HOST),
    (S.STOPPED_BY_OPERATOR, C.HOST_FAILED, S.STOPPED_BY_OPERATOR),
    (S.STOPPED_BY_KANRI, C.HOST_FAILED, S.STOPPED_BY_KANRI),
    (S.OFF, C.HOST_FORCED_OFF, S.OFF),
    (S.LOST_WITH_HOST, C.HOST_FAILED, S.LOST_WITH_HOST),
    # The host back, or its layout restored elsewhere, starts exactly the lost ones.
    (S.LOST_WITH_HOST, C.HOST_BACK, S.RUNNING),
    (S.LOST_WITH_HOST, C.LAYOUT_RESTORED, S.RUNNING),
    (S.STOPPED_BY_OPERATOR, C.HOST_BACK, S.STOPPED_BY_OPERATOR),
    (S.STOPPED_BY_OPERATOR, C.LAYOUT_RESTORED, S.STOPPED_BY_OPERATOR),
    (S.STOPPED_OUTSIDE, C.HOST_BACK, S.STOPPED_OUTSIDE),
    (S.OFF, C.LAYOUT_RESTORED, S.OFF),
    # What the monitor sees without a kanri command is believed.
    (S.RUNNING, C.SEEN_OFF, S.STOPPED_OUTSIDE),
    (S.STOPPED_BY_OPERATOR, C.SEEN_ON, S.RUNNING),
    (S.OFF, C.SEEN_ON, S.RUNNING),
    (S.STOPPED_BY_OPERATOR, C.SEEN_OFF, S.STOPPED_BY_OPERATOR),
]


@pytest.mark.parametrize(("before", "cause", "after"), CASES)
def test_transition(before: RunState, cause: Cause, after: RunState) -> None:
    assert step(before, cause) is after


@pytest.mark.parametrize("cause", list(Cause))
def test_nothing_but_an_operator_or_what_is_seen_starts_an_operators_stopped_partition(
    cause: Cause,
) -> None:
    after = step(S.STOPPED_BY_OPERATOR, cause)
    expected = S.RUNNING if cause in (C.OPERATOR_START, C.SEEN_ON) else S.STOPPED_BY_OPERATOR
    assert after is expected


def test_record_keeps_who_changed_it_last_when_the_state_does_not_change() -> None:
    stopped = Tracked(S.STOPPED_BY_OPERATOR, C.OPERATOR_STOP, "alice", T0)
    assert record(stopped, C.CASCADE_STOP, "kanri", T1) is stopped
    assert record(stopped, C.OPERATOR_START, "bob", T1) == Tracked(
        S.RUNNING, C.OPERATOR_START, "bob", T1
    )


def test_a_new_partition_is_off_changed_by_no_one() -> None:
    assert Tracked() == Tracked(S.OFF, None, None, None)


STATES = {
    "app-1": Tracked(S.RUNNING, C.OPERATOR_START, "alice", T0),
    "app-2": Tracked(S.STOPPED_BY_OPERATOR, C.OPERATOR_STOP, "bob", T0),
    "app-3": Tracked(),
    "app-4": Tracked(S.STOPPED_BY_KANRI, C.CASCADE_STOP, "kanri", T0),
    "app-5": Tracked(S.LOST_WITH_HOST, C.HOST_FAILED, "host", T0),
    "app-6": Tracked(S.STOPPED_OUTSIDE, C.SEEN_OFF, "monitor", T0),
    "app-7": Tracked(S.RUNNING, C.CASCADE_START, "kanri", T0),
}


@pytest.mark.parametrize("cause", [C.HOST_FAILED, C.HOST_FORCED_OFF])
def test_freeze_keeps_the_states_of_the_moment_with_who_changed_each(cause: Cause) -> None:
    snapshot = freeze(STATES, T1, cause)
    assert snapshot.at == T1
    assert snapshot.cause is cause
    assert snapshot.states == STATES
    assert snapshot.states["app-2"].by == "bob"


def test_to_start_is_exactly_the_running_and_the_lost() -> None:
    assert to_start(freeze(STATES, T1, C.HOST_FAILED)) == ["app-1", "app-5", "app-7"]


def test_after_the_loss_the_running_ones_are_lost_and_the_rest_untouched() -> None:
    after = freeze(STATES, T1, C.HOST_FAILED).after()
    assert after["app-1"] == Tracked(S.LOST_WITH_HOST, C.HOST_FAILED, "host", T1)
    assert after["app-2"] is STATES["app-2"]
    assert {n for n, t in after.items() if t.state is S.LOST_WITH_HOST} == {
        "app-1",
        "app-5",
        "app-7",
    }


def test_the_host_back_starts_the_lost_and_an_operator_stop_in_between_sticks() -> None:
    after = freeze(STATES, T1, C.HOST_FAILED).after()
    after["app-7"] = record(after["app-7"], C.OPERATOR_STOP, "carol", T1)
    back = {name: record(t, C.HOST_BACK, "kanri", T1) for name, t in after.items()}
    assert sorted(n for n, t in back.items() if t.state is S.RUNNING) == ["app-1", "app-5"]
    assert back["app-7"].state is S.STOPPED_BY_OPERATOR


@pytest.mark.parametrize("cause", [c for c in Cause if c not in (C.HOST_FAILED, C.HOST_FORCED_OFF)])
def test_freeze_only_on_a_host_loss(cause: Cause) -> None:
    with pytest.raises(Invalid, match=f"not on {cause}"):
        freeze(STATES, T1, cause)


def test_an_empty_host_freezes_to_nothing_to_start() -> None:
    assert to_start(Snapshot(T1, C.HOST_FAILED)) == []


@pytest.mark.parametrize(
    ("states", "started"),
    [
        ({}, []),
        ({"a": S.RUNNING, "b": S.OFF}, ["a"]),
        ({"b": S.LOST_WITH_HOST, "a": S.STOPPED_BY_OPERATOR, "c": S.STOPPED_BY_KANRI}, ["b"]),
        ({"z": S.RUNNING, "a": S.LOST_WITH_HOST, "m": S.STOPPED_OUTSIDE}, ["a", "z"]),
    ],
)
def test_restorable_from_a_layouts_states(states: dict[str, RunState], started: list[str]) -> None:
    assert restorable(states) == started
