"""Notifications: what a notifier driver sends (e-mail, webhook, syslog), and the SMTP
server kanri sends e-mail through. Pure: the drivers speak the protocols.

A :class:`Notification` carries a subject and a text body for people, the event as a
JSON-able dict for programs, and the destination parameters of one rule's action
(``to`` for e-mail, ``url`` and ``secret`` for a webhook, ``address`` for syslog).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kanri.domain.errors import Invalid
from kanri.domain.faults import FaultEvent


class SmtpTls(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587); required
    TLS = "tls"  # implicit TLS from the first byte (port 465)
    NONE = "none"  # plain text (a local relay on port 25)


DEFAULT_PORTS = {SmtpTls.STARTTLS: 587, SmtpTls.TLS: 465, SmtpTls.NONE: 25}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where kanri sends e-mail: the manager's settings (``KANRI_SMTP_*``), not a rule's."""

    host: str
    port: int
    sender: str
    tls: SmtpTls = SmtpTls.STARTTLS
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    ca_file: str = ""  # trust this CA bundle instead of the system's
    verify_tls: bool = True


def smtp_from_env(env: Mapping[str, str], password: str = "") -> SmtpServer | None:
    """The SMTP server the ``KANRI_SMTP_*`` variables name; None without ``KANRI_SMTP_HOST``.

    ``password`` is what the caller read from ``KANRI_SMTP_PASSWORD_FILE``, if any.
    """
    host = env.get("KANRI_SMTP_HOST", "").strip()
    if not host:
        return None
    raw_tls = env.get("KANRI_SMTP_TLS", "starttls").strip().lower()
    try:
        tls = SmtpTls(raw_tls)
    except ValueError:
        choices = ", ".join(t.value for t in SmtpTls)
        raise Invalid(f"KANRI_SMTP_TLS is one of {choices}, not {raw_tls!r}") from None
    port = _number(env, "KANRI_SMTP_PORT", DEFAULT_PORTS[tls], whole=True)
    if not 0 < port < 65536:
        raise Invalid(f"KANRI_SMTP_PORT is a port number (1-65535), not {port}")
    timeout = _number(env, "KANRI_SMTP_TIMEOUT", 30.0, whole=False)
    if timeout <= 0:
        raise Invalid("KANRI_SMTP_TIMEOUT is a number of seconds above 0")
    verify = env.get("KANRI_SMTP_VERIFY_TLS", "true").strip().lower()
    if verify not in {"true", "false", "1", "0", "yes", "no"}:
        raise Invalid(f"KANRI_SMTP_VERIFY_TLS is true or false, not {verify!r}")
    return SmtpServer(
        host=host,
        port=int(port),
        sender=env.get("KANRI_SMTP_FROM", "").strip() or f"kanri@{host}",
        tls=tls,
        user=env.get("KANRI_SMTP_USER", ""),
        password=env.get("KANRI_SMTP_PASSWORD", "") or password,
        timeout=float(timeout),
        ca_file=env.get("KANRI_SMTP_CA_FILE", ""),
        verify_tls=verify in {"true", "1", "yes"},
    )


def _number(env: Mapping[str, str], name: str, default: float, whole: bool) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        what = "a whole number" if whole else "a number"
        raise Invalid(f"{name} is {what}, not {raw!r}") from None


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send. ``params`` are the rule action's own (destination, options)."""

    subject: str
    body: str
    event: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    rule: str = ""
    trigger: str = ""
    delivery_id: int | None = None
    smtp: SmtpServer | None = None  # e-mail only: the manager's server


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def event_document(event: FaultEvent) -> dict[str, Any]:
    """The event as JSON-able data: what webhooks, commands and e-mail attachments get."""
    return {
        "id": event.id,
        "key": event.key,
        "kind": event.kind,
        "severity": event.severity.value,
        "state": event.state.value,
        "source": event.source.value,
        "target": event.target,
        "component": event.component,
        "message": event.message,
        "first_at": _iso(event.first_at),
        "last_at": _iso(event.last_at),
        "count": event.count,
        "affected": list(event.affected),
        "diagnostics": event.diagnostics,
        "details": event.details,
        "acked_by": event.acked_by,
        "acked_at": _iso(event.acked_at),
        "cleared_at": _iso(event.cleared_at),
    }


SUBJECT_LIMIT = 200


def subject_of(event: FaultEvent) -> str:
    where = event.target or "the manager"
    part = f" {event.component}" if event.component else ""
    text = f"[kanri] {event.severity.value.upper()} {event.kind}{part} on {where}: {event.message}"
    text = " ".join(text.split())  # one line: no header injection through a message
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 1] + "…"


def body_of(event: FaultEvent, rule: str = "", trigger: str = "") -> str:
    """A text an operator reads on a phone: what, where, since when, what else is hit."""
    lines = [
        event.message,
        "",
        f"event:     {event.id} ({event.state.value})",
        f"severity:  {event.severity.value}",
        f"kind:      {event.kind}",
        f"target:    {event.target or '-'}",
    ]
    if event.component:
        lines.append(f"component: {event.component}")
    lines += [
        f"first:     {_iso(event.first_at)}",
        f"last:      {_iso(event.last_at)} ({event.count} observation(s))",
        f"source:    {event.source.value}",
    ]
    if event.affected:
        lines.append(f"affected:  {', '.join(event.affected)}")
    if rule:
        lines.append(f"rule:      {rule} ({trigger or 'new'})")
    sel = event.diagnostics.get("sel") if isinstance(event.diagnostics, dict) else None
    if isinstance(sel, list) and sel:
        lines += ["", "system event log around it:"]
        for entry in sel[-10:]:
            if isinstance(entry, dict):
                lines.append(f"  {entry.get('created', '')} {entry.get('message', '')}".rstrip())
    lines += ["", "The event as JSON is attached (webhooks and commands get the same)."]
    return "\n".join(lines) + "\n"
