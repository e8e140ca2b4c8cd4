"""Rules and maintenance through a real ``kanri serve``, driven by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli

GOOD = """\
rules:
  - name: power-watch
    match: {kind: power.*, target: rack-1}
    actions:
      - command: {argv: ["true"], timeout: 5}
  - name: web-syslog
    match: {severity: critical, group: web}
    on: [new, escalated, cleared]
    actions: [{syslog: {address: "127.0.0.1:514"}}]
"""

BAD = (
    GOOD
    + """\
  - name: ghost-watch
    match: {target: ghost}
    actions: [reboot]
"""
)


def names(cli: Cli) -> list[str]:
    return [r["name"] for r in cli.json("rule", "list")]


def test_rules_and_maintenance(cli: Cli, tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("pw\n")
    bmc = ["--bmc", "fake://rack?systems=2", "--user", "admin", "--driver", "fake"]
    assert cli("machine", "add", "rack", *bmc, "--password-file", str(password)).code == 0
    assert cli("group", "add", "web", "rack-1").code == 0

    added = cli(
        "rule", "add", "dimm-mail", "--severity", "warning", "--kind", "hw.*",
        "--component", "DIMM*", "--group", "web", "--action", "email:to=ops@example.com",
        "--action", "reboot", "--rate", "5/1h", "--quiet", "10m", "-o", "json",
    )  # fmt: skip
    assert added.code == 0, added.err
    shown = json.loads(added.out)
    assert (shown["rate"], shown["quiet"]) == ("5/3600", 600)
    assert shown["match"] == {
        "severity": "warning", "kind": ["hw.*"], "component": ["DIMM*"], "group": ["web"],
    }  # fmt: skip
    assert [a["kind"] for a in shown["actions"]] == ["email", "reboot"]
    shown_table = cli("rule", "show", "dimm-mail")
    assert "action 1: email:to=ops@example.com" in shown_table.out

    refused = cli("rule", "add", "ghost", "--target", "ghost", "--action", "reboot")
    assert (refused.code, refused.err.startswith("error:")) == (3, True)
    assert "no machine named ghost" in refused.err
    refused = cli("rule", "add", "pager", "--action", "pager:to=x")
    assert refused.code == 2
    assert "unknown action kind 'pager'; known: command, email" in refused.err

    # A file with one bad rule stores none of them; fixed, all of them.
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(BAD)
    loaded = cli("rule", "load", str(rules_file))
    assert loaded.code == 3
    assert "rules.yaml: rule ghost-watch: no machine named ghost: nothing stored" in loaded.err
    rules_file.write_text(GOOD)
    loaded = cli("rule", "add", "--from-file", str(rules_file))
    assert loaded.code == 0, loaded.err
    assert "loaded 2 rule(s)" in loaded.out
    assert names(cli) == ["dimm-mail", "power-watch", "web-syslog"]

    # An event the manager stores itself: the power command on rack-1.
    assert cli("power", "on", "rack-1", "--wait", "--timeout", "20").code == 0
    events = json.loads(cli("event", "list", "--target", "rack-1", "-o", "json").out)
    event_id = next(e["id"] for e in events if e["kind"].startswith("power."))
    tested = cli("rule", "test", str(event_id))
    assert tested.code == 0, tested.err
    lines = {line.split()[0]: line for line in tested.out.splitlines() if line.strip()}
    assert " yes " in lines["power-watch"]
    assert "command:argv=true" in lines["power-watch"]
    assert "does not match" in lines["dimm-mail"]

    on = cli("maintenance", "on", "web", "--for", "2h", "--reason", "racking")
    assert on.code == 0, on.err
    assert "web is in maintenance until" in on.out
    listed = cli("maintenance", "list")
    assert "racking" in listed.out
    tested = cli("rule", "test", str(event_id), "-o", "json")
    verdicts = {v["rule"]: v for v in json.loads(tested.out)}
    assert verdicts["power-watch"]["fires"] is False
    assert verdicts["power-watch"]["reason"] == "suppressed: web is in maintenance (racking)"
    assert cli("maintenance", "off", "web").code == 0
    off = cli("maintenance", "off", "web")
    assert (off.code, "web is not in maintenance" in off.err) == (3, True)

    assert cli("rule", "remove", "dimm-mail", "--yes").code == 0
    assert names(cli) == ["power-watch", "web-syslog"]
