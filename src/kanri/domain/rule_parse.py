"""Rules from YAML-loaded (or JSON) data, with errors naming the file, the rule and the key.

One rule::

    name: dimm-faults
    match: {severity: warning, kind: hw.*, component: "DIMM*", target: [blade-03],
            group: [web]}
    on: [new, escalated]          # default; also grew, cleared
    actions:
      - email: {to: [ops@example.com]}
      - reboot                    # a kind without parameters
      - {kind: webhook, params: {url: "https://hooks.example.com/kanri"}}
    rate: 5/1h                    # at most 5 firings an hour
    quiet: 10m                    # and none within 10 minutes of the last
    enabled: true

A file holds a list of rules, or a mapping with the key ``rules``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kanri.domain.errors import Invalid
from kanri.domain.faults import Severity
from kanri.domain.naming import check_name
from kanri.domain.rule_actions import check_action
from kanri.domain.rules import (
    DEFAULT_TRIGGERS,
    KIND_FAMILIES,
    ActionSpec,
    Match,
    Rule,
    Trigger,
)

RULE_KEYS = ("name", "match", "on", "actions", "rate", "quiet", "enabled")
MATCH_KEYS = ("severity", "kind", "component", "target", "group")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_KIND = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$")
MAX_SECONDS = 30 * 86400


def parse_rules(data: Any, source: str, action_kinds: Iterable[str]) -> list[Rule]:
    """Every rule in ``data`` (a list, or ``{rules: [...]}``) in order, or Invalid naming
    ``source``, the rule and the key. Names must be unique within the file."""
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise Invalid(f"{source}: expected a list of rules (or 'rules:' and a list)")
    kinds = frozenset(action_kinds)
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, item in enumerate(data, 1):
        rule = parse_rule(item, source, kinds, index=index)
        if rule.name in seen:
            raise Invalid(f"{source}: rule {rule.name}: the name is used twice in this file")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def parse_rule(
    data: Any, source: str, action_kinds: Iterable[str], index: int | None = None
) -> Rule:
    """One rule; ``source`` (a file's name, or "" for the API) starts every error."""
    prefix = f"{source}: " if source else ""
    where = f"{prefix}rule" if index is None else f"{prefix}rule #{index}"
    if not isinstance(data, dict):
        raise Invalid(f"{where}: a rule is a mapping with {', '.join(RULE_KEYS)}")
    # YAML 1.1 reads a bare ``on:`` key as true.
    data = {"on" if k is True else str(k): v for k, v in data.items()}
    name = data.get("name")
    if not isinstance(name, str):
        raise Invalid(f"{where}: 'name' is missing or not a string")
    try:
        check_name(name)
    except Invalid as exc:
        raise Invalid(f"{where}: 'name': {exc}") from None
    where = f"{prefix}rule {name}"
    unknown = sorted(set(data) - set(RULE_KEYS))
    if unknown:
        raise Invalid(f"{where}: unknown key {unknown[0]!r} (a rule has {', '.join(RULE_KEYS)})")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise Invalid(f"{where}: 'enabled' must be true or false")
    count, seconds = parse_rate(data.get("rate"), f"{where}: 'rate'")
    return Rule(
        name=name,
        match=_match(data.get("match", {}), f"{where}: 'match'"),
        actions=_actions(data.get("actions"), f"{where}: 'actions'", frozenset(action_kinds)),
        enabled=enabled,
        on=_triggers(data.get("on"), f"{where}: 'on'"),
        rate_count=count,
        rate_seconds=seconds,
        quiet_seconds=parse_seconds(data.get("quiet", 0), f"{where}: 'quiet'", low=0),
        origin=source or "api",
    )


def parse_seconds(value: Any, where: str, low: int = 1) -> int:
    """A duration: whole seconds, or a number with s, m, h or d (``90``, ``10m``, ``2h``)."""
    if isinstance(value, bool):
        raise Invalid(f"{where} must be a duration such as 600, 10m, 2h or 1d")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (found := _DURATION.match(value.strip())):
        seconds = int(found[1]) * _UNITS[found[2] or "s"]
    else:
        raise Invalid(f"{where} must be a duration such as 600, 10m, 2h or 1d, not {value!r}")
    if not low <= seconds <= MAX_SECONDS:
        raise Invalid(f"{where} must be from {low} s to 30 days")
    return seconds


def parse_rate(value: Any, where: str) -> tuple[int | None, int | None]:
    """``COUNT/DURATION`` (``5/3600``, ``5/1h``) or ``{count, seconds}``; None: no limit."""
    if value is None:
        return None, None
    if isinstance(value, dict) and set(value) == {"count", "seconds"}:
        count, per = value["count"], value["seconds"]
    elif isinstance(value, str) and value.count("/") == 1:
        count, per = value.split("/")
        count = int(count) if count.strip().isdigit() else count
    else:
        raise Invalid(f"{where} must be COUNT/DURATION such as 5/3600 or 5/1h, not {value!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10000:
        raise Invalid(f"{where}: the count must be a whole number from 1 to 10000")
    return count, parse_seconds(per, f"{where}: the duration")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise Invalid(f"{where} must be a string or a list of strings")
    return tuple(dict.fromkeys(items))


def _match(data: Any, where: str) -> Match:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid(f"{where} must be a mapping with {', '.join(MATCH_KEYS)}")
    unknown = sorted(set(data) - set(MATCH_KEYS))
    if unknown:
        raise Invalid(f"{where}: unknown key {unknown[0]!r} (match has {', '.join(MATCH_KEYS)})")
    severity = data.get("severity", Severity.INFO.value)
    if severity not in {s.value for s in Severity}:
        raise Invalid(
            f"{where}: 'severity' must be one of {', '.join(s.value for s in Severity)}, "
            f"not {severity!r}"
        )
    kinds = _strings(data.get("kind", []), f"{where}: 'kind'")
    for kind in kinds:
        check_kind(kind, f"{where}: 'kind'")
    return Match(
        severity=Severity(severity),
        kinds=kinds,
        components=_strings(data.get("component", []), f"{where}: 'component'"),
        targets=_strings(data.get("target", []), f"{where}: 'target'"),
        groups=_strings(data.get("group", []), f"{where}: 'group'"),
    )


def check_kind(kind: str, where: str) -> str:
    """An event kind (``hw.sel``), a family (``hw.*``) or ``*``, of a family kanri emits."""
    if not _KIND.match(kind):
        raise Invalid(f"{where}: {kind!r} is not an event kind such as hw.sel or hw.*")
    family = kind.split(".", 1)[0]
    if kind != "*" and family not in KIND_FAMILIES:
        raise Invalid(
            f"{where}: no part of kanri emits {kind!r} events; kinds start with "
            f"{', '.join(f + '.' for f in KIND_FAMILIES)}"
        )
    return kind


def _triggers(value: Any, where: str) -> frozenset[Trigger]:
    if value is None:
        return DEFAULT_TRIGGERS
    names = _strings(value, where)
    known = [t.value for t in Trigger]
    for name in names:
        if name not in known:
            raise Invalid(f"{where}: {name!r} is not one of {', '.join(known)}")
    return frozenset(Trigger(n) for n in names)


def _actions(value: Any, where: str, kinds: frozenset[str]) -> tuple[ActionSpec, ...]:
    if not isinstance(value, list) or not value:
        raise Invalid(f"{where}: a rule needs at least one action (a list)")
    return tuple(_action(item, f"{where} #{i}", kinds) for i, item in enumerate(value, 1))


def _action(item: Any, where: str, kinds: frozenset[str]) -> ActionSpec:
    """``reboot``, ``{email: {to: [...]}}`` or ``{kind: email, params: {to: [...]}}``."""
    if isinstance(item, str):
        kind, params = item, {}
    elif isinstance(item, dict) and "kind" in item and set(item) <= {"kind", "params"}:
        kind, params = item["kind"], item.get("params", {})
    elif isinstance(item, dict) and len(item) == 1:
        [(kind, params)] = item.items()
    else:
        raise Invalid(f"{where}: an action is KIND, or KIND: {{parameters}}")
    if not isinstance(kind, str) or kind not in kinds:
        raise Invalid(f"{where}: unknown action kind {kind!r}; known: {', '.join(sorted(kinds))}")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise Invalid(f"{where}: the parameters of {kind} must be a mapping")
    return ActionSpec(kind, check_action(kind, params, where))


def rule_data(rule: Rule) -> dict[str, Any]:
    """A rule as data ``parse_rule`` reads back: what the API shows and a file can hold."""
    m = rule.match
    match: dict[str, Any] = {"severity": m.severity.value}
    for key, values in (
        ("kind", m.kinds), ("component", m.components), ("target", m.targets),
        ("group", m.groups),
    ):  # fmt: skip
        if values:
            match[key] = list(values)
    return {
        "name": rule.name,
        "match": match,
        "on": sorted(t.value for t in rule.on),
        "actions": [{"kind": a.kind, "params": a.params} for a in rule.actions],
        "rate": None if rule.rate_count is None else f"{rule.rate_count}/{rule.rate_seconds}",
        "quiet": rule.quiet_seconds,
        "enabled": rule.enabled,
    }
