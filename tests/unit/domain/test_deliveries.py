"""Delivery states as a table, and the backoff table retries follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.deliveries import (
    DELIVERY_TRANSITIONS,
    DeliveryState,
    RetryPolicy,
    after_failure,
    can_move,
    shown_params,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_backoff_doubles_from_five_seconds_up_to_the_cap() -> None:
    assert RetryPolicy().table() == [5, 10, 20, 40, 80, 160, 300]
    assert RetryPolicy(base=1, cap=3, max_attempts=5).table() == [1, 2, 3, 3]


def test_a_failure_is_retried_after_the_attempt_s_delay() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert after_failure(1, True, policy, NOW) == (
        DeliveryState.RETRYING,
        NOW + timedelta(seconds=5),
    )
    assert after_failure(2, True, policy, NOW) == (
        DeliveryState.RETRYING,
        NOW + timedelta(seconds=10),
    )


@pytest.mark.parametrize(("attempts", "retry"), [(3, True), (1, False), (9, True)])
def test_out_of_attempts_or_not_retried_gives_up(attempts: int, retry: bool) -> None:
    assert after_failure(attempts, retry, RetryPolicy(max_attempts=3), NOW) == (
        DeliveryState.GAVE_UP,
        None,
    )


def test_every_state_is_in_the_table_and_the_final_ones_go_nowhere() -> None:
    assert set(DELIVERY_TRANSITIONS) == set(DeliveryState)
    finals = {s for s in DeliveryState if s.final}
    assert finals == {DeliveryState.SUCCEEDED, DeliveryState.GAVE_UP, DeliveryState.SUPPRESSED}


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        (DeliveryState.PENDING, DeliveryState.RUNNING, True),
        (DeliveryState.RUNNING, DeliveryState.RETRYING, True),
        (DeliveryState.RETRYING, DeliveryState.RUNNING, True),
        (DeliveryState.RUNNING, DeliveryState.RUNNING, True),  # a takeover
        (DeliveryState.PENDING, DeliveryState.SUCCEEDED, False),  # never without running
        (DeliveryState.SUCCEEDED, DeliveryState.RUNNING, False),
        (DeliveryState.GAVE_UP, DeliveryState.RETRYING, False),
    ],
)
def test_moves(old: DeliveryState, new: DeliveryState, allowed: bool) -> None:
    assert can_move(old, new) is allowed


def test_secrets_are_not_shown() -> None:
    assert shown_params({"url": "http://x", "secret": "s3"}) == {"url": "http://x", "secret": "***"}
