"""Real peers for the notifiers, on loopback: an SMTP server (aiosmtpd; plain, STARTTLS or
implicit TLS, with AUTH), a webhook receiver (http.server), syslog listeners (UDP and
TCP), and a TCP server that accepts and never says a word (timeouts)."""

from __future__ import annotations

import queue
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from kanri.lab.sushy_emulator import free_port, write_self_signed
from tests.peers.http import serving

# smtp -------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server accepted, and how it is told to misbehave."""

    messages: queue.Queue[tuple[Envelope, EmailMessage]] = field(default_factory=queue.Queue)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    busy: bool = False  # DATA answered 451 (try later)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.busy:
            return "451 4.3.0 try again later"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.put((envelope, parsed))
        return "250 Message accepted"

    def one(self, timeout: float = 5.0) -> tuple[Envelope, EmailMessage]:
        return self.messages.get(timeout=timeout)


@dataclass
class SmtpPeer:
    host: str
    port: int
    mailbox: Mailbox
    ca_file: Path | None


def tls_files(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    if not cert.exists():
        write_self_signed(host, cert, key)
    return cert, key


@contextmanager
def smtp_server(
    directory: Path,
    tls: str = "none",
    users: dict[str, str] | None = None,
) -> Iterator[SmtpPeer]:
    """aiosmtpd on 127.0.0.1. ``tls``: none, starttls (required) or tls (implicit).
    ``users``: AUTH is required, with these logins and passwords."""
    mailbox = Mailbox()
    kwargs: dict[str, Any] = {}
    ca_file = None
    if tls != "none":
        cert, key = tls_files(directory)
        ca_file = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    if users is not None:

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            login, password = data.login.decode(), data.password.decode()
            ok = users.get(login) == password
            if ok:
                mailbox.logins.append(login)
            return AuthResult(success=ok, handled=False)

        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=tls != "none"
        )
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpPeer("127.0.0.1", port, mailbox, ca_file)
    finally:
        controller.stop()


# webhook ----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.received: queue.Queue[Received] = queue.Queue()
        self.status = 204
        self.hanging = False
        self.released = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/kanri"


class _WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.received.put(
            Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if self.server.hanging:  # answer only when the test lets go (after its timeout)
            self.server.released.wait(30)
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer()
    try:
        with serving(server):
            yield server
    finally:
        server.released.set()


# syslog -----------------------------------------------------------------------------


@contextmanager
def udp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    try:
        yield sock
    finally:
        sock.close()


@contextmanager
def tcp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(5)
    try:
        yield sock
    finally:
        sock.close()


def read_tcp_frame(listener: socket.socket) -> bytes:
    """One RFC 6587 octet-counted frame from the next connection."""
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(5)
        data = b""
        while b" " not in data:
            data += conn.recv(1)
        size = int(data[:-1])
        frame = b""
        while len(frame) < size:
            chunk = conn.recv(size - len(frame))
            if not chunk:
                break
            frame += chunk
        return frame


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers; the port."""
    sock = tcp_listener()
    with sock as listener:
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                    accepted.append(conn)
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield int(listener.getsockname()[1])
        finally:
            stop.set()
            thread.join(timeout=2)
            for conn in accepted:
                conn.close()


def closed_port() -> int:
    """A port nothing listens on (connections are refused)."""
    return free_port()
