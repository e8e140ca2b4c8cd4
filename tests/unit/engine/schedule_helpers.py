"""What the schedule tests share: a clock the test turns, a job engine that only records
what it is given, and a schedule made from a rule's text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kanri.domain.schedules import Schedule, parse_rule
from kanri.domain.states import PowerAction

START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)  # a Monday


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSubmitter:
    def __init__(self) -> None:
        self.jobs: list[tuple[str, list[str], dict[str, Any]]] = []

    def submit(self, kind: str, targets: list[str], params: dict[str, Any]) -> object:
        self.jobs.append((kind, targets, params))
        return len(self.jobs)


def schedule_of(name: str, rule: str, target: str = "web1", **kw: Any) -> Schedule:
    """A schedule powering ``target`` on (``action=``) by ``rule`` in UTC (``zone=``)."""
    action = kw.pop("action", PowerAction.ON)
    return Schedule(name, action, target, parse_rule(rule), kw.pop("zone", "UTC"), **kw)
