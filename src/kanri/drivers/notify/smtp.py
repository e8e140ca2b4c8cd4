"""E-mail through the manager's SMTP server (smtplib): STARTTLS, implicit TLS or plain,
optional AUTH, a timeout on every socket operation.

The message is a short text for people with the event as a JSON attachment. Receipt:
which server accepted it for whom. The server's 5xx and rejected credentials are
refusals (not retried); 4xx, a dropped connection, no answer are retried.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from kanri.domain.errors import (
    NotifyError,
    NotifyRefused,
    NotifyTimedOut,
    NotifyUnreachable,
)
from kanri.domain.notify import Notification, SmtpServer, SmtpTls
from kanri.drivers.registry import DriverContext


class SmtpNotifier:
    def __init__(self, context: DriverContext) -> None:
        self.context = context

    def send(self, message: Notification) -> str:
        server = message.smtp
        if server is None:
            raise NotifyRefused("no SMTP server is configured (set KANRI_SMTP_HOST)")
        recipients = _recipients(message)
        mail = _compose(message, server.sender, recipients)
        where = f"{server.host}:{server.port}"
        try:
            with _connect(server) as smtp:
                refused = smtp.send_message(mail, server.sender, recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyRefused(f"SMTP {where} rejected the credentials: {_said(exc)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            said = "; ".join(f"{r}: {_said_code(c, m)}" for r, (c, m) in exc.recipients.items())
            raise _by_code(
                min(c for c, _ in exc.recipients.values()), f"SMTP {where} refused {said}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, f"SMTP {where} said {_said(exc)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise NotifyRefused(f"SMTP {where}: {exc}") from None
        except TimeoutError:
            raise NotifyTimedOut(f"SMTP {where}: no answer within {server.timeout:g}s") from None
        except ssl.SSLCertVerificationError as exc:
            raise NotifyUnreachable(
                f"SMTP {where}: TLS certificate rejected: {exc.verify_message}"
            ) from None
        except (ssl.SSLError, smtplib.SMTPServerDisconnected) as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib's word for a silent peer
                raise NotifyTimedOut(
                    f"SMTP {where}: no answer within {server.timeout:g}s"
                ) from None
            raise NotifyUnreachable(f"SMTP {where}: {exc}") from None
        except smtplib.SMTPException as exc:
            raise NotifyError(f"SMTP {where}: {exc}") from None
        except OSError as exc:
            raise NotifyUnreachable(f"SMTP {where}: {exc.strerror or exc}") from None
        accepted = [r for r in recipients if r not in refused]
        receipt = f"accepted by {where} for {', '.join(accepted)}"
        if refused:
            receipt += f" (refused: {', '.join(sorted(refused))})"
        return receipt

    def close(self) -> None:
        pass


def _recipients(message: Notification) -> list[str]:
    to = message.params.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and a for a in to):
        raise NotifyRefused("an e-mail action needs 'to': one or more addresses")
    return [str(a) for a in to]


def _compose(message: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = str(message.params.get("subject") or message.subject)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain="kanri")
    if message.delivery_id is not None:
        mail["X-Kanri-Delivery"] = str(message.delivery_id)
    if message.event.get("id") is not None:
        mail["X-Kanri-Event"] = str(message.event["id"])
    mail.set_content(message.body)
    mail.add_attachment(
        json.dumps(message.event, indent=2, sort_keys=True).encode(),
        maintype="application",
        subtype="json",
        filename=f"event-{message.event.get('id', 'x')}.json",
    )
    return mail


def _tls_context(server: SmtpServer) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=server.ca_file or None)
    if not server.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect(server: SmtpServer) -> smtplib.SMTP:
    smtp: smtplib.SMTP
    if server.tls is SmtpTls.TLS:
        smtp = smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.timeout, context=_tls_context(server)
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    try:
        smtp.ehlo()
        if server.tls is SmtpTls.STARTTLS:
            if not smtp.has_extn("starttls"):
                raise NotifyRefused(
                    f"SMTP {server.host}:{server.port} does not offer STARTTLS "
                    "(KANRI_SMTP_TLS=none sends in plain text)"
                )
            smtp.starttls(context=_tls_context(server))
            smtp.ehlo()
        if server.user:
            smtp.login(server.user, server.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _said(exc: smtplib.SMTPResponseException) -> str:
    return _said_code(exc.smtp_code, exc.smtp_error)


def _said_code(code: int, text: bytes | str) -> str:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(shown.split())}"


def _by_code(code: int, text: str) -> NotifyError:
    """5xx: the server will say the same next time. 4xx: it may not."""
    return NotifyRefused(text) if code >= 500 else NotifyError(text)
