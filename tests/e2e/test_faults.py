"""Issue 6 end to end: a real ``kanri serve --push-url ... --monitor-interval 2`` and the
lab. A DIMM fails on a hypervisor host with running partitions: the lab pushes the event,
the manager opens ONE ``hw.component`` event on the host naming its running partitions,
an early poll adds the SEL line, and the rules added through the CLI mail a real SMTP
server, POST a signed webhook and reboot the host as a power job. Then the enclosure's BMC
goes silent: one ``bmc.unreachable`` event per machine, not one per poll, each cleared
when it answers again."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.e2e.lab_helpers import add_lab, history, hypervisor_lab, os_running
from tests.peers.notify import SmtpPeer, WebhookServer, smtp_server
from tests.waiting import wait_for

LAB = hypervisor_lab(50.0, running=("p1", "p2"))
MACHINES = ("lab-hv", "lab-p1", "lab-p2")


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpPeer]:
    with smtp_server(tmp_path) as peer:
        yield peer


@pytest.fixture
def server(
    tmp_path: Path, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KanriServer]:
    monkeypatch.setenv("KANRI_SMTP_HOST", smtp.host)
    monkeypatch.setenv("KANRI_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("KANRI_SMTP_TLS", "none")
    monkeypatch.setenv("KANRI_SMTP_FROM", "kanri@lab.test")
    kanri = KanriServer(tmp_path / "data", sync_interval=0.5)
    # The BMCs push to the manager itself; a silent BMC fails a request within 1 s.
    kanri.args = ["--push-url", kanri.url, "--monitor-interval", "2", "--bmc-timeout", "1"]
    kanri.start()
    try:
        yield kanri
    finally:
        kanri.stop()


@pytest.fixture
def cli(server: KanriServer, lab: LabServer, tmp_path: Path) -> Cli:
    cli = Cli(server.url, server.data_dir, env={"KANRI_LAB_URL": lab.url})
    add_lab(cli, lab, tmp_path)
    return cli


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli.json("event", "list", "-n", "1000", *args)
    return found


def shown(cli: Cli, event_id: int) -> dict[str, Any]:
    found: dict[str, Any] = cli.json("event", "show", str(event_id))
    return found


def test_a_dimm_fault_is_one_event_that_mails_posts_and_reboots(
    cli: Cli, lab: LabServer, smtp: SmtpPeer, hook: WebhookServer
) -> None:
    for part in ("p1", "p2"):
        wait_for(lambda part=part: os_running(lab, part), timeout=30)  # type: ignore[misc]
    added = cli("rule", "add", "dimm", "--kind", "hw.component", "--component", "DIMM*",
                "--action", "email:to=ops@lab.test",
                "--action", f"webhook:url={hook.url};secret=s3",
                "--action", "reboot")  # fmt: skip
    assert added.code == 0, added.err
    # The BMC holds the manager's push subscription (made within a tick or two).
    wait_for(lambda: len(_subscriptions(lab)) == 1, timeout=20)

    injected = cli("lab", "inject", "component", "hv", "dimm", "--id", "DIMM3")
    assert injected.code == 0, injected.err

    # ONE event on the host, naming its running partitions, with the SEL line.
    wait_for(lambda: bool(listed(cli, "--kind", "hw.component")), timeout=20)
    [event] = listed(cli, "--kind", "hw.component")
    assert (event["target"], event["component"], event["severity"]) == (
        "lab-hv",
        "DIMM3",
        "critical",
    )
    assert sorted(event["affected"]) == ["lab-p1", "lab-p2"]

    def sel_lines() -> list[str]:
        lines = shown(cli, event["id"])["diagnostics"].get("sel", [])
        return [line["message"] for line in lines]

    wait_for(lambda: bool(sel_lines()), timeout=20)
    assert "The health of resource 'DIMM3' has changed to Critical." in sel_lines()

    # The e-mail, at the real SMTP server.
    envelope, mail = smtp.mailbox.one(timeout=30)
    assert envelope.rcpt_tos == ["ops@lab.test"]
    assert "CRITICAL hw.component DIMM3 on lab-hv" in mail["Subject"]
    assert int(mail["X-Kanri-Event"]) == event["id"]

    # The webhook, signed.
    posted = hook.received.get(timeout=30)
    signed = "sha256=" + hmac.new(b"s3", posted.body, hashlib.sha256).hexdigest()
    assert posted.headers["x-kanri-signature"] == signed
    assert json.loads(posted.body)["event"]["id"] == event["id"]

    # The reboot, as a power job on the host; the lab saw the host restart.
    def deliveries() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = shown(cli, event["id"]).get("deliveries") or []
        return found

    wait_for(lambda: [d["state"] for d in deliveries()] == ["succeeded"] * 3, timeout=60)
    assert [(d["rule"], d["kind"]) for d in deliveries()] == [
        ("dimm", "email"),
        ("dimm", "webhook"),
        ("dimm", "reboot"),
    ]
    job_id = deliveries()[2]["job_id"]

    def job() -> dict[str, Any]:
        jobs = json.loads(cli("job", "list", "-o", "json").out)
        return next(j for j in jobs if str(j["id"]) == str(job_id))

    wait_for(lambda: job()["state"] in {"succeeded", "failed"}, timeout=90)
    assert job()["state"] == "succeeded", job()
    assert "hv" in history(lab, "power.on")
    text = cli("event", "show", str(event["id"]))
    assert text.code == 0, text.err
    assert "reboot" in text.out

    # Still one hw.component event: the reboot's polls and pushes grew nothing new.
    assert [e["id"] for e in listed(cli, "--kind", "hw.component")] == [event["id"]]
    assert smtp.mailbox.messages.empty()


def _subscriptions(lab: LabServer) -> list[str]:
    import httpx

    with httpx.Client(base_url=lab.url, auth=("admin", "password"), timeout=10) as client:
        members = client.get("/redfish/v1/EventService/Subscriptions").json()["Members"]
    return [m["@odata.id"] for m in members]


def test_a_silent_bmc_is_one_unreachable_event_per_machine_cleared_when_back(
    cli: Cli, lab: LabServer
) -> None:
    wait_for(lambda: _subscriptions(lab) != [], timeout=20)
    silent = cli("lab", "inject", "bmc", "*", "silent")
    assert silent.code == 0, silent.err

    def unreachable() -> list[dict[str, Any]]:
        return listed(cli, "--kind", "bmc.unreachable")

    wait_for(lambda: len(unreachable()) == len(MACHINES), timeout=90)
    events = unreachable()
    assert sorted(e["target"] for e in events) == sorted(MACHINES)
    assert {(e["state"], e["count"]) for e in events} == {("open", 1)}

    cleared = cli("lab", "clear", "*")
    assert cleared.code == 0, cleared.err
    wait_for(lambda: {e["state"] for e in unreachable()} == {"cleared"}, timeout=60)
    assert sorted(e["target"] for e in unreachable()) == sorted(MACHINES)
    assert listed(cli, "--kind", "hw.") == []
