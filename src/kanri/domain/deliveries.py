"""Deliveries: one rule action carried out for one event, durably. States as a table,
retries by a backoff table, and the record of every attempt. Pure: the engine acts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class DeliveryState(StrEnum):
    PENDING = "pending"  # stored, not tried yet
    RUNNING = "running"  # a manager holds it (lease) and is carrying it out
    RETRYING = "retrying"  # failed; tried again at next_at
    SUCCEEDED = "succeeded"
    GAVE_UP = "gave_up"  # failed for good: refused, out of attempts, or not repeatable
    SUPPRESSED = "suppressed"  # not run: its target went into maintenance before it ran

    @property
    def final(self) -> bool:
        return not DELIVERY_TRANSITIONS[self]


# Which moves are allowed. RUNNING -> RUNNING is a takeover: the holder's lease expired
# (its manager died mid-attempt) and another manager claims it.
DELIVERY_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.PENDING: frozenset({DeliveryState.RUNNING, DeliveryState.SUPPRESSED}),
    DeliveryState.RUNNING: frozenset(
        {
            DeliveryState.RUNNING,
            DeliveryState.SUCCEEDED,
            DeliveryState.RETRYING,
            DeliveryState.GAVE_UP,
            DeliveryState.SUPPRESSED,
        }
    ),
    DeliveryState.RETRYING: frozenset({DeliveryState.RUNNING, DeliveryState.SUPPRESSED}),
    DeliveryState.SUCCEEDED: frozenset(),
    DeliveryState.GAVE_UP: frozenset(),
    DeliveryState.SUPPRESSED: frozenset(),
}

# Waiting for its turn: what a worker may claim when next_at has come.
DUE_STATES = (DeliveryState.PENDING, DeliveryState.RETRYING)


def can_move(old: DeliveryState, new: DeliveryState) -> bool:
    return new in DELIVERY_TRANSITIONS[old]


class Outcome(StrEnum):
    """How one attempt ended, as the attempt log says."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its manager died (lease expired) before it ended
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (1-based) that fails waits ``base * 2**(n-1)`` seconds, at most ``cap``;
    after ``max_attempts`` attempts the delivery gives up."""

    base: float = 5.0
    cap: float = 300.0
    max_attempts: int = 8

    def delay(self, attempt: int) -> timedelta:
        seconds = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return timedelta(seconds=seconds)

    def table(self) -> list[float]:
        """The waits after each failed attempt but the last: for docs and tests."""
        return [self.delay(n).total_seconds() for n in range(1, self.max_attempts)]


def after_failure(
    attempts: int, retry: bool, policy: RetryPolicy, now: datetime
) -> tuple[DeliveryState, datetime | None]:
    """Where a failed attempt leaves a delivery: retried later, or given up."""
    if not retry or attempts >= policy.max_attempts:
        return DeliveryState.GAVE_UP, None
    return DeliveryState.RETRYING, now + policy.delay(attempts)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One action of one rule for one event, as stored."""

    id: int
    event_id: int
    rule: str
    action_index: int
    trigger: str
    kind: str
    params: dict[str, Any]
    state: DeliveryState
    attempts: int
    next_at: datetime | None
    holder: str | None
    lease_until: datetime | None
    last_error: str
    log: tuple[dict[str, Any], ...] = ()
    job_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    previous_holder: str | None = field(default=None, compare=False)  # set by a takeover


SECRET_PARAMS = frozenset({"secret", "password", "token"})


def shown_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the API shows them: secrets replaced."""
    return {k: ("***" if k in SECRET_PARAMS and v else v) for k, v in params.items()}
