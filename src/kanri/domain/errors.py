"""Errors that mean something to an operator. Faces map them to exit codes and HTTP status."""

from __future__ import annotations


class KanriError(Exception):
    """Base of every error kanri reports to an operator in one clear line."""


class NotFound(KanriError):
    pass


class Conflict(KanriError):
    pass


class Invalid(KanriError):
    pass


class TimedOut(KanriError):
    """Waited as long as asked, and the target did not get there (a job step's wait)."""


class BmcError(KanriError):
    """A BMC could not do what was asked. ``str()`` is one line for an operator."""

    def __init__(self, bmc_url: str, message: str) -> None:
        super().__init__(f"{bmc_url}: {message}")
        self.bmc_url = bmc_url
        self.reason = message


class BmcUnreachable(BmcError):
    """No answer: refused connection, DNS failure, timeout, TLS failure."""


class BmcAuthFailed(BmcError):
    """The BMC answered and rejected the credentials."""


class BmcProtocolError(BmcError):
    """The BMC answered, but not as the protocol says it should, or refused the request."""


class SystemNotFound(BmcError):
    """The BMC does not manage a system with that id (any more)."""


class NotifyError(KanriError):
    """A rule's action failed: a notification not delivered, a command that failed, a job
    not accepted. ``retry`` says whether trying again later may help."""

    retry = True


class NotifyRefused(NotifyError):
    """The peer answered and said no (SMTP 5xx, HTTP 4xx, bad credentials): not retried."""

    retry = False


class NotifyUnreachable(NotifyError):
    """No answer: connection refused, DNS failure, TLS failure."""


class NotifyTimedOut(NotifyError):
    """The peer (or the command) did not finish within the timeout."""
