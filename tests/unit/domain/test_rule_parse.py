"""Rules from YAML data: what is accepted, and errors that name the file, rule and key."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from kanri.domain.errors import Invalid
from kanri.domain.faults import Severity
from kanri.domain.rule_actions import BUILTIN_ACTION_KINDS
from kanri.domain.rule_parse import parse_rate, parse_rule, parse_rules, parse_seconds, rule_data
from kanri.domain.rules import DEFAULT_TRIGGERS, ActionSpec, Match, Trigger

KINDS = frozenset(BUILTIN_ACTION_KINDS) | {"failover"}

GOOD = """
rules:
  - name: dimm-faults
    match: {severity: warning, kind: hw.*, component: "DIMM*", target: blade-03, group: [web]}
    actions:
      - email: {to: ops@example.com, subject: DIMM}
      - {kind: webhook, params: {url: "https://hooks.example.com/k", secret: s, timeout: 5}}
      - syslog: {address: "[::1]:514", protocol: tcp, facility: local3}
      - reboot
      - power_off: {graceful: false}
      - command: {argv: [/bin/page, --now], timeout: 30}
      - failover: {standby: blade-07}
    rate: 5/1h
    quiet: 10m
  - name: cleared
    on: [cleared]
    actions: [reboot]
    enabled: false
"""


def test_a_good_file() -> None:
    first, second = parse_rules(yaml.safe_load(GOOD), "rules.yaml", KINDS)
    assert first.match == Match(Severity.WARNING, ("hw.*",), ("DIMM*",), ("blade-03",), ("web",))
    assert [a.kind for a in first.actions] == [
        "email", "webhook", "syslog", "reboot", "power_off", "command", "failover",
    ]  # fmt: skip
    assert first.actions[0] == ActionSpec("email", {"to": ["ops@example.com"], "subject": "DIMM"})
    assert (first.rate_count, first.rate_seconds, first.quiet_seconds) == (5, 3600, 600)
    assert first.on == DEFAULT_TRIGGERS
    assert first.origin == "rules.yaml"
    assert second.on == {Trigger.CLEARED}
    assert not second.enabled
    assert second.match == Match()


def test_rule_data_reads_back() -> None:
    for rule in parse_rules(yaml.safe_load(GOOD), "f", KINDS):
        assert parse_rule(rule_data(rule), "f", KINDS) == rule


def test_empty_file_and_bare_list() -> None:
    assert parse_rules(None, "f", KINDS) == []
    assert parse_rules({"rules": []}, "f", KINDS) == []
    assert len(parse_rules([{"name": "a", "actions": ["reboot"]}], "f", KINDS)) == 1


def one(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "r1", "actions": ["reboot"]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("nope", "f.yaml: expected a list of rules"),
        (["x"], "f.yaml: rule #1: a rule is a mapping"),
        ([{"actions": ["reboot"]}], "f.yaml: rule #1: 'name' is missing"),
        ([one(name="Bad Name")], "f.yaml: rule #1: 'name': invalid name"),
        ([one(), one()], "f.yaml: rule r1: the name is used twice"),
        ([one(colour="red")], "f.yaml: rule r1: unknown key 'colour'"),
        ([one(enabled="yes")], "rule r1: 'enabled' must be true or false"),
        ([one(match=["x"])], "rule r1: 'match' must be a mapping"),
        ([one(match={"sev": "x"})], "rule r1: 'match': unknown key 'sev'"),
        ([one(match={"severity": "fatal"})], "'severity' must be one of info, warning, critical"),
        ([one(match={"kind": "disk.*"})], "no part of kanri emits 'disk.*' events"),
        ([one(match={"kind": "HW sel"})], "'HW sel' is not an event kind"),
        ([one(match={"target": 3})], "'target' must be a string or a list of strings"),
        ([one(on=["later"])], "rule r1: 'on': 'later' is not one of new, grew, escalated"),
        ([one(actions=[])], "rule r1: 'actions': a rule needs at least one action"),
        ([one(actions=None)], "rule r1: 'actions': a rule needs at least one action"),
        ([one(actions=["pager"])], "unknown action kind 'pager'; known: command, email, failover"),
        ([one(actions=[{"a": 1, "b": 2}])], "#1: an action is KIND, or KIND: {parameters}"),
        ([one(actions=[{"email": "x"}])], "the parameters of email must be a mapping"),
        ([one(actions=[{"email": {}}])], "'actions' #1: email needs 'to'"),
        ([one(actions=[{"email": {"to": ["ops"]}}])], "email 'to': 'ops' is not an e-mail address"),
        ([one(actions=[{"email": {"to": []}}])], "email 'to' must be an address or a non-empty"),
        ([one(actions=[{"email": {"to": "a@b.c", "cc": "x"}}])], "unknown key 'cc' for email"),
        ([one(actions=[{"webhook": {"url": "ftp://x"}}])], "webhook 'url' must be an http://"),
        ([one(actions=[{"webhook": {"url": "https://"}}])], "webhook 'url' must be an http://"),
        ([one(actions=[{"webhook": {"url": "http://h", "timeout": 0}}])], "'timeout' must be"),
        ([one(actions=[{"syslog": {"address": "loghost"}}])], "syslog 'address' must be host:port"),
        ([one(actions=[{"syslog": {"address": "h:70000"}}])], "syslog 'address' must be host:port"),
        ([one(actions=[{"syslog": {"protocol": "http"}}])], "syslog 'protocol' must be udp or tcp"),
        ([one(actions=[{"syslog": {"facility": "x"}}])], "syslog 'facility' must be one of"),
        ([one(actions=[{"reboot": {"now": True}}])], "unknown key 'now' for reboot (it takes no"),
        ([one(actions=[{"power_off": {"graceful": "y"}}])], "'graceful' must be true or false"),
        ([one(actions=[{"command": {"argv": []}}])], "command 'argv' must be a non-empty list"),
        ([one(actions=[{"command": {"argv": "ls"}}])], "command 'argv' must be a non-empty list"),
        ([one(actions=[{"command": {"argv": ["ls"], "timeout": 3601}}])], "from 1 to 3600"),
        ([one(rate="lots")], "rule r1: 'rate' must be COUNT/DURATION"),
        ([one(rate="0/1h")], "'rate': the count must be a whole number from 1 to 10000"),
        ([one(rate="5/1y")], "'rate': the duration must be a duration"),
        ([one(quiet="soon")], "rule r1: 'quiet' must be a duration"),
        ([one(quiet=-1)], "rule r1: 'quiet' must be from 0 s to 30 days"),
    ],
)
def test_bad_rules_say_where(data: Any, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_rules(data, "f.yaml", KINDS)
    assert message in str(caught.value)


def test_without_failover_registered_it_is_unknown() -> None:
    with pytest.raises(Invalid, match="unknown action kind 'failover'"):
        parse_rule(one(actions=["failover"]), "", BUILTIN_ACTION_KINDS)


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), ("90", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)]
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_seconds(value, "x") == seconds


@pytest.mark.parametrize(
    ("value", "rate"),
    [(None, (None, None)), ("5/3600", (5, 3600)), ("1/1d", (1, 86400)),
     ({"count": 2, "seconds": 60}, (2, 60))],
)  # fmt: skip
def test_rates(value: object, rate: tuple[int | None, int | None]) -> None:
    assert parse_rate(value, "x") == rate
