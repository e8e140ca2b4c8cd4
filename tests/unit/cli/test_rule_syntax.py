"""The --action syntax of kanri rule add."""

from __future__ import annotations

from typing import Any

import pytest

from kanri.cli.errors import CliError, ExitCode
from kanri.cli.rule_syntax import parse_action


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("reboot", {"reboot": {}}),
        ("power_off:graceful=false", {"power_off": {"graceful": False}}),
        ("email:to=a@b.example,c@d.example", {"email": {"to": ["a@b.example", "c@d.example"]}}),
        (
            "email:to=a@b.example;subject=DIMM fault on it",
            {"email": {"to": ["a@b.example"], "subject": "DIMM fault on it"}},
        ),
        (
            "webhook:url=https://h.example/k?x=1;secret=s;timeout=2.5",
            {"webhook": {"url": "https://h.example/k?x=1", "secret": "s", "timeout": 2.5}},
        ),
        (
            "command:argv=/usr/bin/page --to 'on call';timeout=30",
            {"command": {"argv": ["/usr/bin/page", "--to", "on call"], "timeout": 30}},
        ),
        ('failover:{"standby": "b7", "n": [1]}', {"failover": {"standby": "b7", "n": [1]}}),
        ("syslog:address=loghost:514", {"syslog": {"address": "loghost:514"}}),
    ],
)
def test_actions(text: str, action: dict[str, Any]) -> None:
    assert parse_action(text) == action


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (":to=x", "start with the action's kind"),
        ("email:to", "'to' is not KEY=VALUE"),
        ("webhook:{nope", "bad JSON"),
        ("webhook:[1]", "'[1]' is not KEY=VALUE"),
        ("power_off:graceful=maybe", "graceful: 'maybe' is not true or false"),
        ("command:argv=x;timeout=soon", "timeout"),
    ],
)
def test_bad_actions(text: str, says: str) -> None:
    with pytest.raises(CliError) as caught:
        parse_action(text)
    assert caught.value.code is ExitCode.USAGE
    assert says in str(caught.value)
