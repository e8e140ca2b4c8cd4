from __future__ import annotations

import pytest

from kanri.domain.states import POWER_TABLE, PowerAction, PowerActionRefused, PowerState, plan_power


def test_on_from_off_sends_a_command_and_ends_on() -> None:
    step = plan_power(PowerState.OFF, PowerAction.ON)
    assert step.send
    assert step.final is PowerState.ON


def test_on_when_on_sends_nothing() -> None:
    assert not plan_power(PowerState.ON, PowerAction.ON).send


@pytest.mark.parametrize("action", [PowerAction.RESTART, PowerAction.RESET])
def test_restart_of_a_machine_that_is_off_is_refused(action: PowerAction) -> None:
    with pytest.raises(PowerActionRefused, match="use 'on'"):
        plan_power(PowerState.OFF, action)


def test_every_table_entry_ends_settled() -> None:
    assert all(step.final.settled for step in POWER_TABLE.values())


def test_every_action_is_possible_from_unknown_state_except_graceful_restart() -> None:
    allowed = {a for (s, a) in POWER_TABLE if s is PowerState.UNKNOWN}
    assert allowed == set(PowerAction) - {PowerAction.RESTART}
