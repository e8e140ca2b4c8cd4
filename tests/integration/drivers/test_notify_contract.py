"""The notifier contract, against real peers the tests start on loopback: an SMTP server
(aiosmtpd: plain, STARTTLS with a self-signed certificate, implicit TLS, AUTH), a webhook
receiver, UDP and TCP syslog listeners. Every registered notifier delivers with a receipt;
refusals, unreachable peers and peers that do not answer are told apart."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kanri.domain.errors import NotifyError, NotifyRefused, NotifyTimedOut, NotifyUnreachable
from kanri.domain.faults import EventState, FaultEvent, Severity, Source
from kanri.domain.notify import Notification, SmtpServer, SmtpTls, body_of, event_document
from kanri.drivers.registry import DriverContext, Drivers, available
from tests.peers.notify import (
    SmtpPeer,
    WebhookServer,
    closed_port,
    read_tcp_frame,
    silent_server,
    smtp_server,
    tcp_listener,
    udp_listener,
    webhook_server,
)

AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
EVENT = FaultEvent(
    id=12,
    key="blade-05|hw.component|DIMM3",
    kind="hw.component",
    severity=Severity.CRITICAL,
    state=EventState.OPEN,
    source=Source.POLL,
    target="blade-05",
    component="DIMM3",
    message="DIMM3 is critical (correctable ECC threshold)",
    first_at=AT,
    last_at=AT,
    count=4,
    affected=("app-1", "app-2"),
)


def _message(params: dict[str, Any], smtp: SmtpServer | None = None) -> Notification:
    return Notification(
        subject="[kanri] CRITICAL hw.component DIMM3 on blade-05",
        body=body_of(EVENT, "page-ops", "new"),
        event=event_document(EVENT),
        params=params,
        rule="page-ops",
        trigger="new",
        delivery_id=5,
        smtp=smtp,
    )


@pytest.fixture
def drivers() -> Iterator[Drivers]:
    drivers = Drivers()
    yield drivers
    drivers.close()


def test_every_kind_kanri_ships_is_registered() -> None:
    assert set(available("notify")) >= {"fake", "smtp", "syslog", "webhook"}


@pytest.mark.parametrize("name", available("notify"))
def test_every_notifier_is_made_from_a_context(name: str) -> None:
    from kanri.drivers.base import Notifier

    notifier = Drivers()._get("notify", name)
    assert isinstance(notifier, Notifier)


# smtp -------------------------------------------------------------------------------


def _server(peer: SmtpPeer, tls: SmtpTls, **kw: Any) -> SmtpServer:
    ca = str(peer.ca_file) if peer.ca_file else ""
    return SmtpServer(peer.host, peer.port, "kanri@lab.test", tls, timeout=5, ca_file=ca, **kw)


def test_smtp_with_starttls_and_auth(drivers: Drivers, tmp_path: Path) -> None:
    with smtp_server(tmp_path, tls="starttls", users={"kanri": "pw"}) as peer:
        server = _server(peer, SmtpTls.STARTTLS, user="kanri", password="pw")
        receipt = drivers.notifier("smtp").send(
            _message({"to": ["ops@lab.test", "oncall@lab.test"]}, server)
        )
        envelope, mail = peer.mailbox.one()
    assert receipt == f"accepted by 127.0.0.1:{peer.port} for ops@lab.test, oncall@lab.test"
    assert peer.mailbox.logins == ["kanri"]
    assert envelope.mail_from == "kanri@lab.test"
    assert envelope.rcpt_tos == ["ops@lab.test", "oncall@lab.test"]
    assert mail["Subject"] == "[kanri] CRITICAL hw.component DIMM3 on blade-05"
    assert mail["X-Kanri-Event"] == "12"
    assert mail["X-Kanri-Delivery"] == "5"
    text = mail.get_body(("plain",))
    assert text is not None
    assert "affected:  app-1, app-2" in text.get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "event-12.json"
    assert json.loads(attachment.get_content())["affected"] == ["app-1", "app-2"]


def test_smtp_with_implicit_tls(drivers: Drivers, tmp_path: Path) -> None:
    with smtp_server(tmp_path, tls="tls") as peer:
        drivers.notifier("smtp").send(
            _message({"to": ["ops@lab.test"]}, _server(peer, SmtpTls.TLS))
        )
        _, mail = peer.mailbox.one()
    assert mail["To"] == "ops@lab.test"


def test_smtp_plain_with_a_subject_of_the_rule(drivers: Drivers, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as peer:
        message = _message({"to": "ops@lab.test", "subject": "DIMM on blade-05"})
        drivers.notifier("smtp").send(
            Notification(**{**_fields(message), "smtp": _server(peer, SmtpTls.NONE)})
        )
        _, mail = peer.mailbox.one()
    assert mail["Subject"] == "DIMM on blade-05"


def _fields(message: Notification) -> dict[str, Any]:
    return {f: getattr(message, f) for f in message.__slots__}


def test_smtp_a_self_signed_certificate_is_rejected_unless_trusted(
    drivers: Drivers, tmp_path: Path
) -> None:
    with smtp_server(tmp_path, tls="starttls") as peer:
        untrusted = SmtpServer(peer.host, peer.port, "kanri@lab.test", SmtpTls.STARTTLS, timeout=5)
        with pytest.raises(NotifyUnreachable, match="TLS certificate rejected: self-signed"):
            drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}, untrusted))
        unverified = SmtpServer(
            peer.host, peer.port, "kanri@lab.test", SmtpTls.STARTTLS, timeout=5, verify_tls=False
        )
        drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}, unverified))
        peer.mailbox.one()


def test_smtp_wrong_credentials_are_refused(drivers: Drivers, tmp_path: Path) -> None:
    with smtp_server(tmp_path, tls="starttls", users={"kanri": "pw"}) as peer:
        server = _server(peer, SmtpTls.STARTTLS, user="kanri", password="wrong")
        with pytest.raises(NotifyRefused, match="rejected the credentials: 535"):
            drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}, server))
    assert peer.mailbox.messages.empty()


def test_smtp_starttls_asked_of_a_server_without_it_is_refused(
    drivers: Drivers, tmp_path: Path
) -> None:
    with (
        smtp_server(tmp_path) as peer,
        pytest.raises(NotifyRefused, match="does not offer STARTTLS"),
    ):
        drivers.notifier("smtp").send(
            _message({"to": ["ops@lab.test"]}, _server(peer, SmtpTls.STARTTLS))
        )


def test_smtp_a_refused_recipient_and_a_busy_server(drivers: Drivers, tmp_path: Path) -> None:
    with smtp_server(tmp_path) as peer:
        server = _server(peer, SmtpTls.NONE)
        peer.mailbox.refuse = {"gone@lab.test"}
        receipt = drivers.notifier("smtp").send(
            _message({"to": ["ops@lab.test", "gone@lab.test"]}, server)
        )
        assert receipt.endswith("for ops@lab.test (refused: gone@lab.test)")
        with pytest.raises(NotifyRefused, match=r"refused gone@lab.test: 550 5\.1\.1"):
            drivers.notifier("smtp").send(_message({"to": ["gone@lab.test"]}, server))
        peer.mailbox.busy = True
        with pytest.raises(NotifyError, match="said 451") as caught:
            drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}, server))
        assert caught.value.retry is True


def test_smtp_unreachable_and_silent(drivers: Drivers) -> None:
    refused = SmtpServer("127.0.0.1", closed_port(), "k@lab.test", SmtpTls.NONE, timeout=2)
    with pytest.raises(NotifyUnreachable, match="Connection refused"):
        drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}, refused))
    with silent_server() as port:
        silent = SmtpServer("127.0.0.1", port, "k@lab.test", SmtpTls.NONE, timeout=0.5)
        with pytest.raises(NotifyTimedOut, match=r"no answer within 0\.5s"):
            drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}, silent))


def test_smtp_without_a_server_or_recipients_is_refused(drivers: Drivers) -> None:
    with pytest.raises(NotifyRefused, match="no SMTP server"):
        drivers.notifier("smtp").send(_message({"to": ["ops@lab.test"]}))
    server = SmtpServer("127.0.0.1", 25, "k@lab.test")
    with pytest.raises(NotifyRefused, match="needs 'to'"):
        drivers.notifier("smtp").send(_message({}, server))


# webhook ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hook_server() -> Iterator[WebhookServer]:
    with webhook_server() as server:
        yield server


@pytest.fixture
def hook(hook_server: WebhookServer) -> Iterator[WebhookServer]:
    """The module's receiver, answering 204 at once, with nothing received yet."""
    hook_server.status, hook_server.hanging = 204, False
    hook_server.released.clear()
    while not hook_server.received.empty():
        hook_server.received.get_nowait()
    yield hook_server
    hook_server.released.set()


def test_webhook_posts_the_event_signed(drivers: Drivers, hook: WebhookServer) -> None:
    receipt = drivers.notifier("webhook").send(_message({"url": hook.url, "secret": "s3"}))
    got = hook.received.get(timeout=5)
    assert receipt == f"HTTP 204 from {hook.url}"
    assert got.path == "/hooks/kanri"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-kanri-delivery"] == "5"
    want = "sha256=" + hmac.new(b"s3", got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-kanri-signature"] == want
    document = json.loads(got.body)
    assert (document["rule"], document["trigger"], document["delivery"]) == ("page-ops", "new", 5)
    assert document["event"]["affected"] == ["app-1", "app-2"]


def test_webhook_without_a_secret_is_not_signed(drivers: Drivers, hook: WebhookServer) -> None:
    hook.status = 200
    drivers.notifier("webhook").send(_message({"url": hook.url}))
    assert "x-kanri-signature" not in hook.received.get(timeout=5).headers


@pytest.mark.parametrize(
    ("status", "error", "retry"),
    [
        (400, NotifyRefused, False),
        (404, NotifyRefused, False),
        (408, NotifyError, True),
        (429, NotifyError, True),
        (500, NotifyError, True),
        (503, NotifyError, True),
        (302, NotifyError, True),
    ],
)
def test_webhook_answers_that_are_not_2xx(
    drivers: Drivers, hook: WebhookServer, status: int, error: type[NotifyError], retry: bool
) -> None:
    hook.status = status
    with pytest.raises(error, match=f"answered HTTP {status}") as caught:
        drivers.notifier("webhook").send(_message({"url": hook.url}))
    assert caught.value.retry is retry


def test_webhook_unreachable_and_timing_out(drivers: Drivers, hook: WebhookServer) -> None:
    with pytest.raises(NotifyUnreachable, match=r"webhook http://127\.0\.0\.1:"):
        drivers.notifier("webhook").send(_message({"url": f"http://127.0.0.1:{closed_port()}/x"}))
    hook.hanging = True
    with pytest.raises(NotifyTimedOut, match=r"no answer within 0\.5s"):
        drivers.notifier("webhook").send(_message({"url": hook.url, "timeout": 0.5}))


def test_webhook_needs_an_http_url(drivers: Drivers) -> None:
    with pytest.raises(NotifyRefused, match="needs an http"):
        drivers.notifier("webhook").send(_message({"url": "file:///etc/passwd"}))


# syslog -----------------------------------------------------------------------------

RFC5424 = re.compile(
    rb"^<(?P<pri>\d+)>1 (?P<ts>\S+Z) (?P<host>\S+) kanri (?P<pid>\d+) (?P<msgid>\S+) "
    rb"\[kanri@32473 (?P<sd>[^\]]*)\] (?P<msg>.*)$"
)


def _check_line(line: bytes, pri: int) -> dict[str, bytes]:
    found = RFC5424.match(line)
    assert found is not None, line
    assert int(found["pri"]) == pri
    assert found["msgid"] == b"hw.component"
    assert b'event="12"' in found["sd"]
    assert b'target="blade-05"' in found["sd"]
    assert found["msg"] == b"[kanri] CRITICAL hw.component DIMM3 on blade-05"
    return found.groupdict()


def test_syslog_over_udp(drivers: Drivers) -> None:
    with udp_listener() as sock:
        port = sock.getsockname()[1]
        receipt = drivers.notifier("syslog").send(
            _message({"address": f"127.0.0.1:{port}", "facility": "local3"})
        )
        line, _ = sock.recvfrom(65536)
    _check_line(line, 19 * 8 + 2)  # local3, crit
    assert receipt == f"sent {len(line)} bytes over udp to 127.0.0.1:{port}"


def test_syslog_over_tcp_octet_counted(drivers: Drivers) -> None:
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        drivers.notifier("syslog").send(
            _message({"address": f"127.0.0.1:{port}", "protocol": "tcp"})
        )
        frame = read_tcp_frame(listener)
    _check_line(frame, 3 * 8 + 2)  # daemon, crit


def test_syslog_tcp_unreachable_and_bad_destinations(drivers: Drivers) -> None:
    notifier = drivers.notifier("syslog")
    with pytest.raises(NotifyUnreachable, match=r"syslog tcp 127\.0\.0\.1:"):
        notifier.send(_message({"address": f"127.0.0.1:{closed_port()}", "protocol": "tcp"}))
    with pytest.raises(NotifyRefused, match="host:port"):
        notifier.send(_message({"address": "loghost"}))
    with pytest.raises(NotifyRefused, match="unknown syslog facility"):
        notifier.send(_message({"address": "127.0.0.1:514", "facility": "local9"}))


# fake -------------------------------------------------------------------------------


def test_the_fake_records_and_fails_on_demand() -> None:
    from kanri.drivers.notify.fake import FakeNotifier, FakeOutbox

    context = DriverContext(Drivers().context.options)
    fake = FakeNotifier(context)
    assert fake.send(_message({"x": 1})) == "recorded as message 1"
    context.shared("notify.fake", FakeOutbox).fail_with = NotifyRefused("no")
    with pytest.raises(NotifyRefused):
        fake.send(_message({}))
    assert [m.params for m in fake.sent] == [{"x": 1}]
