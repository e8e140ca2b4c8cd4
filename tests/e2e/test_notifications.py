"""Rules' actions through a real ``kanri serve`` against the lab and real peers. The lab's
BMC stops answering: a ``bmc.unreachable`` event, and a rule sends an e-mail through an SMTP
server the test runs (STARTTLS with a self-signed certificate, AUTH, settings from
``KANRI_SMTP_*``) and POSTs a signed webhook to a local HTTP server. The BMC comes back: a
``bmc.reachable`` event, and another rule reboots the machine as a power job. Each delivery,
with its attempts, is shown with its event."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanri.lab.server import LabServer
from tests.e2e.conftest import Cli, KanriServer
from tests.e2e.lab_helpers import add_lab
from tests.peers.notify import SmtpPeer, WebhookServer, smtp_server
from tests.waiting import wait_for

LAB: dict[str, Any] = {
    "scale": 20.0,
    "machines": [{"id": "m1", "mode": "bare", "cores": 4, "memory_gib": 8, "power": "On"}],
}


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpPeer]:
    with smtp_server(tmp_path, tls="starttls", users={"kanri": "mail-pw"}) as peer:
        yield peer


@pytest.fixture
def server(
    tmp_path: Path, smtp: SmtpPeer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KanriServer]:
    secret = tmp_path / "smtp-password"
    secret.write_text("mail-pw\n")
    secret.chmod(0o600)
    assert smtp.ca_file is not None
    for name, value in {
        "KANRI_SMTP_HOST": smtp.host,
        "KANRI_SMTP_PORT": str(smtp.port),
        "KANRI_SMTP_TLS": "starttls",
        "KANRI_SMTP_CA_FILE": str(smtp.ca_file),
        "KANRI_SMTP_USER": "kanri",
        "KANRI_SMTP_PASSWORD_FILE": str(secret),
        "KANRI_SMTP_FROM": "kanri@lab.test",
    }.items():
        monkeypatch.setenv(name, value)
    kanri = KanriServer(tmp_path / "data", sync_interval=0.5)
    kanri.start()
    try:
        yield kanri
    finally:
        kanri.stop()


def test_a_fault_mails_posts_and_reboots(
    server: KanriServer, lab: LabServer, smtp: SmtpPeer, hook: WebhookServer, tmp_path: Path
) -> None:
    cli = Cli(server.url, server.data_dir)
    add_lab(cli, lab, tmp_path, name="web1")
    for rule in (
        ["bmc-down", "--kind", "bmc.unreachable",
         "--action", "email:to=ops@lab.test,oncall@lab.test",
         "--action", f"webhook:url={hook.url};secret=s3"],
        ["bmc-back", "--kind", "bmc.reachable", "--action", "reboot"],
    ):  # fmt: skip
        made = cli("rule", "add", *rule)
        assert made.code == 0, made.err

    lab.stop()  # the BMC stops answering
    envelope, mail = smtp.mailbox.one(timeout=60)
    assert smtp.mailbox.logins == ["kanri"]
    assert envelope.mail_from == "kanri@lab.test"
    assert envelope.rcpt_tos == ["ops@lab.test", "oncall@lab.test"]
    assert mail["Subject"].startswith("[kanri] ")
    assert "bmc.unreachable on web1: web1: BMC failed 3 polls in a row" in mail["Subject"]
    down = int(mail["X-Kanri-Event"])

    posted = hook.received.get(timeout=30)
    signed = "sha256=" + hmac.new(b"s3", posted.body, hashlib.sha256).hexdigest()
    assert posted.headers["x-kanri-signature"] == signed
    document = json.loads(posted.body)
    assert (document["rule"], document["event"]["id"]) == ("bmc-down", down)
    assert document["event"]["kind"] == "bmc.unreachable"

    api = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=30
    )

    def deliveries(event_id: int) -> list[dict[str, Any]]:
        answer = api.get(f"/api/v1/events/{event_id}/deliveries")
        assert answer.status_code == 200, answer.text
        result: list[dict[str, Any]] = answer.json()
        return result

    wait_for(lambda: all(d["state"] == "succeeded" for d in deliveries(down)), timeout=30)
    shown = deliveries(down)
    assert [(d["rule"], d["kind"], d["attempts"]) for d in shown] == [
        ("bmc-down", "email", 1),
        ("bmc-down", "webhook", 1),
    ]
    assert shown[1]["params"]["secret"] == "***"
    assert shown[0]["log"][0]["receipt"].endswith("for ops@lab.test, oncall@lab.test")

    # The BMC answers again: the other rule reboots the machine, as a job.
    back = LabServer(lab.config, lab.directory, port=lab.port).start()
    try:

        def reboots() -> list[dict[str, Any]]:
            listed = api.get("/api/v1/events", params={"target": "web1"}).json()
            found = [e for e in listed if e["kind"] == "bmc.reachable"]
            return deliveries(found[0]["id"]) if found else []

        wait_for(lambda: [d["state"] for d in reboots()] == ["succeeded"], timeout=60)
        [reboot] = reboots()
        job_id = reboot["job_id"]
        assert reboot["log"][0]["receipt"] == f"power job {job_id} accepted: restart web1"

        def job_state() -> str:
            state: str = api.get(f"/api/v1/jobs/{job_id}").json()["state"]
            return state

        wait_for(lambda: job_state() in {"succeeded", "failed"}, timeout=60)
        assert job_state() == "succeeded"
    finally:
        back.stop()
    assert api.get("/api/v1/events/999999/deliveries").status_code == 404
