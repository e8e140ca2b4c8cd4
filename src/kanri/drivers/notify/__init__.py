"""Notifier drivers: e-mail over SMTP, webhooks over HTTP, syslog over UDP or TCP, and a
fake that records. Registered under the ``kanri.drivers.notify`` entry point group."""

from kanri.drivers.notify.fake import FakeNotifier
from kanri.drivers.notify.smtp import SmtpNotifier
from kanri.drivers.notify.syslog import SyslogNotifier
from kanri.drivers.notify.webhook import WebhookNotifier

__all__ = ["FakeNotifier", "SmtpNotifier", "SyslogNotifier", "WebhookNotifier"]
