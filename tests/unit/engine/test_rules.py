"""RuleService: rules checked against what exists, and which fire for an event's change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanri.domain.errors import Conflict, Invalid, NotFound
from kanri.domain.faults import EventState, FaultEvent, Severity, Source
from kanri.domain.model import Bmc
from kanri.domain.rules import ActionSpec, Firing
from kanri.engine.manager import Manager
from kanri.engine.rules import RuleService, action_kinds
from kanri.store.tables import DeliveryRow

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Events:
    def __init__(self) -> None:
        self.stored: dict[int, FaultEvent] = {}

    def get(self, event_id: int) -> FaultEvent:
        if event_id not in self.stored:
            raise NotFound(f"no event {event_id}")
        return self.stored[event_id]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def rules(manager: Manager, clock: Clock, events: Events) -> RuleService:
    for name in ("web1", "web2", "db1"):
        manager.machines.add(name, Bmc(f"fake://{name}", "admin", "pw"), driver="fake")
    manager.groups.add("web", ["web1", "web2"])
    service = manager.rules
    service.clock = clock
    service._events = lambda: events
    return service


def stored_event(
    manager: Manager,
    events: Events,
    target: str | None = "web1",
    severity: Severity = Severity.WARNING,
    kind: str = "hw.component",
) -> FaultEvent:
    event_id = manager.repo.add_event(kind, severity.value, target, "a fault")
    event = FaultEvent(
        id=event_id, key=f"{target}|{kind}|DIMM3", kind=kind, severity=severity,
        state=EventState.OPEN, source=Source.POLL, target=target, component="DIMM3",
        message="a fault", first_at=NOW, last_at=NOW, count=1,
    )  # fmt: skip
    events.stored[event_id] = event
    return event


def fired(manager: Manager, event: FaultEvent, firing: Firing, at: datetime) -> None:
    """What the delivery side records for a firing."""
    with manager.db.session() as session:
        for index, action in enumerate(firing.actions):
            session.add(DeliveryRow(
                event_id=event.id, rule_name=firing.rule, action_index=index,
                trigger=firing.trigger, kind=action.kind, created_at=at,
            ))  # fmt: skip


def test_builtin_action_kinds_are_known() -> None:
    assert {"email", "webhook", "syslog", "reboot", "power_off", "command"} <= action_kinds()


def test_rules_fire_in_order_after_matching(
    rules: RuleService, manager: Manager, events: Events
) -> None:
    mail = [{"email": {"to": "a@b.example"}}]
    rules.add({"name": "mail", "match": {"group": "web"}, "actions": mail})
    rules.add({"name": "crit", "match": {"severity": "critical"}, "actions": ["reboot"]})
    rules.add({"name": "db", "match": {"target": "db1"}, "actions": ["reboot"]})
    rules.add({"name": "all", "actions": ["reboot"], "on": ["new", "cleared"]})
    event = stored_event(manager, events)
    assert [(f.rule, f.trigger) for f in rules.decide(event, "new")] == [
        ("mail", "new"), ("all", "new"),
    ]  # fmt: skip
    assert rules.decide(event, "grew") == []
    assert [f.rule for f in rules.decide(event, "cleared")] == ["all"]
    worse = stored_event(manager, events, severity=Severity.CRITICAL)
    assert [(f.rule, f.trigger) for f in rules.decide(worse, "escalated")] == [
        ("mail", "escalated:critical"), ("crit", "escalated:critical"),
    ]  # fmt: skip
    assert rules.decide(worse, "new")[0].actions == (ActionSpec("email", {"to": ["a@b.example"]}),)
    rules.set_enabled("mail", False)
    assert [f.rule for f in rules.decide(event, "new")] == ["all"]


def test_maintenance_suppresses_every_action(
    rules: RuleService, manager: Manager, events: Events, clock: Clock
) -> None:
    rules.add({"name": "all", "actions": ["reboot"]})
    event = stored_event(manager, events, target="web2")
    rules.maintenance_on("web", "racking", NOW + timedelta(hours=1), "admin")
    assert rules.decide(event, "new") == []
    [verdict] = rules.test(event.id)
    assert verdict["reason"] == "suppressed: web is in maintenance (racking)"
    assert not verdict["fires"]
    other = stored_event(manager, events, target="db1")
    assert [f.rule for f in rules.decide(other, "new")] == ["all"]
    clock.now = NOW + timedelta(hours=1)  # the entry has expired
    assert [f.rule for f in rules.decide(event, "new")] == ["all"]
    rules.maintenance_on("web2", "", None, "admin")
    assert rules.decide(event, "new") == []
    assert rules.maintenance_off("web2").target == "web2"
    assert [f.rule for f in rules.decide(event, "new")] == ["all"]


def test_rate_limit_and_quiet_period_count_recorded_firings(
    rules: RuleService, manager: Manager, events: Events, clock: Clock
) -> None:
    rules.add({"name": "limited", "actions": ["reboot"], "rate": "2/1h"})
    rules.add({"name": "quiet", "actions": ["reboot"], "quiet": "10m"})
    first, second, third = (stored_event(manager, events) for _ in range(3))
    for event in (first, second):
        for firing in rules.decide(event, "new"):
            fired(manager, event, firing, clock.now)
        clock.now += timedelta(minutes=11)
    assert [f.rule for f in rules.decide(third, "new")] == ["quiet"]
    verdicts = {v["rule"]: v for v in rules.test(third.id)}
    assert verdicts["limited"]["reason"] == (
        "suppressed: rate limit: 2 firings in the last 3600 s already"
    )
    fired(manager, third, rules.decide(third, "new")[0], clock.now)
    clock.now += timedelta(minutes=1)
    assert rules.decide(third, "escalated") == []
    assert rules.test(third.id)[1]["reason"].startswith("suppressed: quiet period: 540 s left")
    clock.now = NOW + timedelta(hours=1, minutes=1)  # the first firing left the window
    assert [f.rule for f in rules.decide(third, "escalated")] == ["limited", "quiet"]


def test_test_explains_every_rule(rules: RuleService, manager: Manager, events: Events) -> None:
    rules.add({"name": "crit", "match": {"severity": "critical"}, "actions": ["reboot"]})
    rules.add({"name": "off", "actions": ["reboot"], "enabled": False})
    rules.add({"name": "clear", "actions": ["reboot"], "on": ["cleared"]})
    rules.add({"name": "hw", "match": {"kind": "hw.*"}, "actions": ["power_off"]})
    event = stored_event(manager, events)
    assert [(v["rule"], v["fires"], v["reason"]) for v in rules.test(event.id)] == [
        ("crit", False, "does not match: severity warning is below critical"),
        ("off", False, "disabled"),
        ("clear", False, "fires on cleared, not new"),
        ("hw", True, "matches"),
    ]
    assert rules.test(event.id, "cleared")[2]["fires"]
    with pytest.raises(NotFound, match="no event 999"):
        rules.test(999)
    with pytest.raises(Invalid, match="change must be one of"):
        rules.test(event.id, "later")


def test_rules_naming_what_does_not_exist_are_refused(rules: RuleService) -> None:
    with pytest.raises(NotFound, match="rule r: no machine named nope: nothing stored"):
        rules.add({"name": "r", "match": {"target": ["web1", "nope"]}, "actions": ["reboot"]})
    with pytest.raises(NotFound, match="no group named ghosts"):
        rules.add({"name": "r", "match": {"group": "ghosts"}, "actions": ["reboot"]})
    with pytest.raises(Invalid, match=r"no part of kanri emits 'disk\.full' events"):
        rules.add({"name": "r", "match": {"kind": "disk.full"}, "actions": ["reboot"]})
    with pytest.raises(Invalid, match="unknown action kind 'pager'; known: command, email"):
        rules.add({"name": "r", "actions": ["pager"]})
    assert rules.rules() == []


def test_load_is_all_or_nothing(rules: RuleService) -> None:
    good = "rules:\n  - {name: a, actions: [reboot]}\n  - {name: b, actions: [reboot]}\n"
    assert [r.name for r in rules.load(good, "/etc/kanri/rules.yaml")] == ["a", "b"]
    bad = good + "  - {name: c, match: {target: nope}, actions: [reboot]}\n"
    with pytest.raises(NotFound, match=r"/etc/kanri/rules\.yaml: rule c: no machine named nope"):
        rules.load(bad, "/etc/kanri/rules.yaml")
    with pytest.raises(Invalid, match=r"rules\.yaml: not YAML"):
        rules.load("rules: [", "/etc/kanri/rules.yaml")
    with pytest.raises(Conflict, match="rule a exists already"):
        rules.load("- {name: a, actions: [reboot]}", "other.yaml")
    with pytest.raises(Invalid, match="not 'api'"):
        rules.load(good, "api")
    assert [(r.name, r.origin) for r in rules.rules()] == [
        ("a", "/etc/kanri/rules.yaml"), ("b", "/etc/kanri/rules.yaml"),
    ]  # fmt: skip
    rules.load("rules: []", "/etc/kanri/rules.yaml")
    assert rules.rules() == []


def test_maintenance_input_is_checked(rules: RuleService) -> None:
    with pytest.raises(NotFound, match="no machine or group named 'nope'"):
        rules.maintenance_on("nope", "", None, "admin")
    with pytest.raises(Invalid, match="is not in the future"):
        rules.maintenance_on("web1", "", NOW, "admin")
    with pytest.raises(Invalid, match="needs a time zone"):
        rules.maintenance_on("web1", "", datetime(2030, 1, 1), "admin")
    with pytest.raises(NotFound, match="web1 is not in maintenance"):
        rules.maintenance_off("web1")
    assert rules.maintenance() == []
