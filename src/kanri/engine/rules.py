"""Rules and maintenance in the manager: checked against what exists before they are
stored, and the decision which rules fire for a change to an event (docs/rules.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any, Protocol

import yaml

from kanri.domain.errors import Invalid, NotFound
from kanri.domain.faults import FaultEvent
from kanri.domain.groups import Group
from kanri.domain.naming import check_name
from kanri.domain.rule_actions import BUILTIN_ACTION_KINDS
from kanri.domain.rule_parse import parse_rule, parse_rules, rule_data
from kanri.domain.rules import (
    Firing,
    Maintenance,
    Rule,
    Trigger,
    in_maintenance,
    mismatch,
    throttled,
    trigger_for,
)
from kanri.store.repo import Repository
from kanri.store.rules_repo import RulesRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ACTION_GROUP = "kanri.actions"
MAX_YAML = 256 * 1024


def system_clock() -> datetime:
    return datetime.now(UTC)


def action_kinds() -> frozenset[str]:
    """The built-in action kinds and every kind registered under ``kanri.actions``."""
    return frozenset(BUILTIN_ACTION_KINDS) | {e.name for e in entry_points(group=ACTION_GROUP)}


class Groups(Protocol):
    """What rules need of groups (``GroupService``)."""

    def groups(self) -> list[Group]: ...


class EventLookup(Protocol):
    """What ``test`` needs of the events (``EventService``)."""

    def get(self, event_id: int) -> FaultEvent: ...


class RuleService:
    def __init__(
        self,
        store: RulesRepository,
        machines: Repository,
        groups: Groups,
        events: Callable[[], EventLookup | None] = lambda: None,
        clock: Clock = system_clock,
        kinds: Callable[[], frozenset[str]] = action_kinds,
    ) -> None:
        self.store = store
        self.machines = machines
        self.groups = groups
        self._events = events
        self.clock = clock
        self.kinds = kinds

    # rules ------------------------------------------------------------------------------

    def add(self, data: dict[str, Any]) -> Rule:
        """Store one rule given as data (the shape of one rule in a rules file)."""
        rule = parse_rule(data, "", self.kinds())
        self._check_known([rule])
        added = self.store.add(rule)
        self._record("rule.added", f"added rule {rule.name}")
        return added

    def rules(self) -> list[Rule]:
        return self.store.rules()

    def get(self, name: str) -> Rule:
        return self.store.get(name)

    def remove(self, name: str) -> None:
        self.store.remove(name)
        self._record("rule.removed", f"removed rule {name}")

    def set_enabled(self, name: str, enabled: bool) -> Rule:
        rule = self.store.set_enabled(name, enabled)
        self._record("rule.changed", f"{'enabled' if enabled else 'disabled'} rule {name}")
        return rule

    def load(self, text: str, source: str) -> list[Rule]:
        """Make the rules from ``source`` the ones in ``text`` (YAML): all or nothing."""
        if not source or len(source) > 255 or source == "api":
            raise Invalid("the rules file's name must be 1-255 characters, not 'api'")
        if len(text) > MAX_YAML:
            raise Invalid(f"{source}: larger than {MAX_YAML // 1024} KiB")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise Invalid(f"{source}: not YAML: {' '.join(str(exc).split())}") from None
        rules = parse_rules(data, source, self.kinds())
        self._check_known(rules)
        loaded = self.store.load(source, rules)
        self._record("rule.loaded", f"loaded {len(loaded)} rule(s) from {source}")
        return loaded

    def _check_known(self, rules: Iterable[Rule]) -> None:
        """A rule that names a machine or group kanri does not know would never match."""
        machines = {m.name for m in self.machines.list_machines()}
        groups = {g.name for g in self.groups.groups()}
        for rule in rules:
            where = (
                f"rule {rule.name}" if rule.origin == "api" else f"{rule.origin}: rule {rule.name}"
            )
            missing = [t for t in rule.match.targets if t not in machines]
            if missing:
                raise NotFound(f"{where}: no machine named {', '.join(missing)}: nothing stored")
            missing = [g for g in rule.match.groups if g not in groups]
            if missing:
                raise NotFound(f"{where}: no group named {', '.join(missing)}: nothing stored")

    def _record(self, kind: str, message: str, target: str | None = None) -> None:
        self.machines.add_event(kind, "info", target, message)

    # decisions --------------------------------------------------------------------------

    def _groups_of(self, target: str | None) -> set[str]:
        if target is None:
            return set()
        return {g.name for g in self.groups.groups() if target in g.members}

    def decide(self, event: FaultEvent, change: str) -> list[Firing]:
        """The rules that fire for ``change`` (a ``Change``) to ``event``, in rule order,
        after maintenance, rate limits and quiet periods. Records nothing."""
        now = self.clock()
        groups = self._groups_of(event.target)
        covered = in_maintenance(event.target, groups, self.store.maintenance(now), now)
        if covered is not None:
            log.info("event %s: %s in maintenance, no actions", event.id, covered.target)
            return []
        trigger, name = trigger_for(change, event)
        firings = []
        for rule in self.store.rules():
            if not rule.enabled or trigger not in rule.on:
                continue
            if mismatch(rule.match, event, groups) is not None:
                continue
            reason = self._throttled(rule, now)
            if reason is not None:
                log.info("event %s: rule %s does not fire: %s", event.id, rule.name, reason)
                continue
            firings.append(Firing(rule.name, name, rule.actions))
        return firings

    def _throttled(self, rule: Rule, now: datetime) -> str | None:
        if not rule.window:
            return None
        times = self.store.firing_times(rule.name, now - timedelta(seconds=rule.window))
        return throttled(rule, times, now)

    def test(self, event_id: int, change: str = Trigger.NEW.value) -> list[dict[str, Any]]:
        """Every rule, in order, and what it would do for the stored event if it were
        ``change`` now: fire (its actions) or not (and why). Acts on nothing."""
        try:
            Trigger(change)
        except ValueError:
            known = ", ".join(t.value for t in Trigger)
            raise Invalid(f"change must be one of {known}, not {change!r}") from None
        events = self._events()
        if events is None:
            raise NotFound("events are not available in this manager")
        event = events.get(event_id)
        now = self.clock()
        groups = self._groups_of(event.target)
        covered = in_maintenance(event.target, groups, self.store.maintenance(now), now)
        trigger, name = trigger_for(change, event)
        out = []
        for rule in self.store.rules():
            reason = self._why_not(rule, event, groups, trigger, covered, now)
            out.append({
                "rule": rule.name,
                "fires": reason is None,
                "trigger": name,
                "reason": reason or "matches",
                "actions": [{"kind": a.kind, "params": a.params} for a in rule.actions],
            })  # fmt: skip
        return out

    def _why_not(
        self,
        rule: Rule,
        event: FaultEvent,
        groups: set[str],
        trigger: Trigger,
        covered: Maintenance | None,
        now: datetime,
    ) -> str | None:
        if not rule.enabled:
            return "disabled"
        if trigger not in rule.on:
            return f"fires on {', '.join(sorted(rule.on))}, not {trigger}"
        wrong = mismatch(rule.match, event, groups)
        if wrong is not None:
            return f"does not match: {wrong}"
        if covered is not None:
            why = f" ({covered.reason})" if covered.reason else ""
            return f"suppressed: {covered.target} is in maintenance{why}"
        throttle = self._throttled(rule, now)
        return f"suppressed: {throttle}" if throttle else None

    # maintenance ------------------------------------------------------------------------

    def maintenance_on(
        self, target: str, reason: str, until: datetime | None, by: str
    ) -> tuple[Maintenance, bool]:
        """Put a machine or a group in maintenance (again: a new reason and end)."""
        check_name(target)
        now = self.clock()
        if until is not None:
            if until.tzinfo is None:
                raise Invalid("until needs a time zone (e.g. 2026-01-05T18:00:00+09:00 or Z)")
            if until <= now:
                raise Invalid(f"until {until.isoformat()} is not in the future")
        if len(reason) > 1000:
            raise Invalid("the reason must be at most 1000 characters")
        machines = {m.name for m in self.machines.list_machines()}
        if target not in machines and target not in {g.name for g in self.groups.groups()}:
            raise NotFound(f"no machine or group named {target!r}")
        entry, new = self.store.set_maintenance(Maintenance(target, reason, until, by[:63], now))
        ends = f" until {until.isoformat()}" if until else ""
        self._record("maintenance.on", f"{target} in maintenance{ends}: {reason}", target)
        return entry, new

    def maintenance(self) -> list[Maintenance]:
        return self.store.maintenance(self.clock())

    def maintenance_off(self, target: str) -> Maintenance:
        entry = self.store.end_maintenance(target, self.clock())
        self._record("maintenance.off", f"{target} out of maintenance", target)
        return entry

    @staticmethod
    def data(rule: Rule) -> dict[str, Any]:
        return {**rule_data(rule), "position": rule.position, "origin": rule.origin}
