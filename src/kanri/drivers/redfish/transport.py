"""The HTTP session under sushy, changed so that a command is never sent twice.

sushy's Connector repeats every request, POST and PATCH included, after a read timeout or
a dropped connection (its ``_RETRYABLE_EXCEPTIONS``), and reads ``retries=0`` as 3. For a
GET that is harmless; for ``ComputerSystem.Reset`` a BMC that answered slowly would get a
second reset (guide rule 3). This session turns every failure that happened after a
request that changes something left the machine into :class:`SentButUnanswered`, an error
sushy does not retry. Failures before anything was sent (refused, connect timeout, DNS)
stay retryable: repeating those cannot act twice.
"""

from __future__ import annotations

from typing import Any

import requests

from kanri.drivers.redfish.errors import SentButUnanswered, nothing_was_sent

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NoResendSession(requests.Session):
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().request(method, url, *args, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            verb = method.decode() if isinstance(method, bytes) else method
            if verb.upper() in SAFE_METHODS or nothing_was_sent(exc):
                raise
            raise SentButUnanswered(
                f"{verb.upper()} sent, no answer ({type(exc).__name__})",
                request=exc.request,
                response=exc.response,
            ) from exc


def install(connector: Any) -> None:
    """Put a :class:`NoResendSession` under a sushy ``Connector``, keeping its settings."""
    old: requests.Session = connector._session
    session = NoResendSession()
    session.headers.clear()
    session.headers.update(old.headers)
    session.adapters = old.adapters
    session.verify = old.verify
    session.auth = old.auth
    connector._session = session  # the old one is dropped, not closed: its adapters live on
