"""Syslog: one RFC 5424 line per event, over UDP (one datagram) or TCP (RFC 6587 octet
counting: ``LEN SP MSG``), to ``address`` (``host:port``, default ``127.0.0.1:514``).

``<PRI>1 TIMESTAMP HOSTNAME kanri PROCID MSGID [kanri@32473 event=.. ...] subject``:
PRI is facility * 8 + severity (critical -> crit, warning -> warning, info -> info), MSGID
the event's kind. UDP has no receipt: "sent" means handed to the network.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from kanri.domain.errors import NotifyRefused, NotifyTimedOut, NotifyUnreachable
from kanri.domain.notify import Notification
from kanri.drivers.registry import DriverContext

DEFAULT_ADDRESS = "127.0.0.1:514"
TIMEOUT = 10.0
# 32473 is the private enterprise number RFC 5612 sets aside for examples and documentation.
SD_ID = "kanri@32473"

_NAMES = "kern user mail daemon auth syslog lpr news uucp cron authpriv ftp ntp audit alert clock"
FACILITIES = {name: code for code, name in enumerate(_NAMES.split())} | {
    f"local{n}": 16 + n for n in range(8)
}
SEVERITIES = {"critical": 2, "warning": 4, "info": 6}


def parse_address(raw: Any) -> tuple[str, int]:
    text = DEFAULT_ADDRESS if raw in (None, "") else raw
    if not isinstance(text, str):
        raise NotifyRefused(f"a syslog 'address' is host:port, not {raw!r}")
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise NotifyRefused(f"a syslog 'address' is host:port, not {text!r}")
    return host, int(port)


def _sd_value(value: object) -> str:
    text = str(value)
    for char in ("\\", '"', "]"):
        text = text.replace(char, "\\" + char)
    return text


def _token(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, or the nil value."""
    kept = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return kept or "-"


def line_of(message: Notification, facility: int, now: datetime | None = None) -> bytes:
    event = message.event
    severity = SEVERITIES.get(str(event.get("severity")), 5)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")
    stamp = stamp.replace("+00:00", "Z")
    params = {
        "event": event.get("id"),
        "kind": event.get("kind"),
        "severity": event.get("severity"),
        "target": event.get("target"),
        "component": event.get("component"),
        "rule": message.rule,
    }
    data = " ".join(f'{k}="{_sd_value(v)}"' for k, v in params.items() if v not in (None, ""))
    header = " ".join(
        [
            f"<{facility * 8 + severity}>1",
            stamp,
            _token(socket.gethostname(), 255),
            "kanri",
            str(os.getpid()),
            _token(str(event.get("kind") or ""), 32),
            f"[{SD_ID} {data}]",
        ]
    )
    text = " ".join(message.subject.split())
    return f"{header} {text}".encode()


class SyslogNotifier:
    def __init__(self, context: DriverContext) -> None:
        self.context = context

    def send(self, message: Notification) -> str:
        host, port = parse_address(message.params.get("address"))
        protocol = str(message.params.get("protocol") or "udp").lower()
        if protocol not in {"udp", "tcp"}:
            raise NotifyRefused(f"a syslog 'protocol' is udp or tcp, not {protocol!r}")
        name = str(message.params.get("facility") or "daemon").lower()
        if name not in FACILITIES:
            raise NotifyRefused(f"unknown syslog facility {name!r}")
        line = line_of(message, FACILITIES[name])
        where = f"{host}:{port}"
        try:
            if protocol == "udp":
                self._udp(host, port, line)
            else:
                self._tcp(host, port, line)
        except TimeoutError:
            raise NotifyTimedOut(
                f"syslog {protocol} {where}: no answer within {TIMEOUT:g}s"
            ) from None
        except OSError as exc:
            raise NotifyUnreachable(f"syslog {protocol} {where}: {exc.strerror or exc}") from None
        return f"sent {len(line)} bytes over {protocol} to {where}"

    def _udp(self, host: str, port: int, line: bytes) -> None:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family[0], socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.sendto(line, family[4])

    def _tcp(self, host: str, port: int, line: bytes) -> None:
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            sock.sendall(str(len(line)).encode() + b" " + line)

    def close(self) -> None:
        pass
