"""sushy and requests exceptions to the four driver errors, each with one short line.

sushy's own messages embed the URL, the request method, the whole ``@Message.ExtendedInfo``
list and sometimes a urllib3 repr of several hundred characters. Operators get the reason
only: the BMC URL is already in front of it (see :class:`DriverError`).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from http import HTTPStatus

import requests
import sushy.exceptions as sushy_exc
from urllib3.exceptions import NameResolutionError, NewConnectionError

from kanri.drivers.base import (
    BmcAuthFailed,
    BmcProtocolError,
    BmcUnreachable,
    DriverError,
    DriverOptions,
)
from kanri.drivers.redfish.mapping import MalformedAnswer

_MAX_DETAIL = 160


def one_line(text: str, limit: int = _MAX_DETAIL) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or while handling, innermost last.

    sushy raises its ConnectionError inside the ``except`` of the requests error without
    ``from``, so the requests exception is only reachable as ``__context__``.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        for arg in current.args:  # requests wraps urllib3's MaxRetryError, which has .reason
            reason = getattr(arg, "reason", None)
            if isinstance(reason, BaseException):
                yield reason
        current = current.__cause__ or current.__context__


def nothing_was_sent(exc: BaseException) -> bool:
    """True when the request never reached the BMC, so repeating it cannot act twice."""
    return any(
        isinstance(c, requests.ConnectTimeout | NewConnectionError | ConnectionRefusedError)
        for c in _causes(exc)
    )


def _unreachable_reason(exc: BaseException, options: DriverOptions) -> str:
    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, NameResolutionError):
            return f"cannot resolve host {cause.conn.host!r}" if cause.conn else "DNS failure"
    for cause in causes:
        if isinstance(cause, requests.ConnectTimeout):
            return f"timed out after {options.connect_timeout:g}s connecting"
        if isinstance(cause, requests.ReadTimeout):
            return f"timed out after {options.read_timeout:g}s waiting for an answer"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {one_line(cause.verify_message or 'untrusted')}"
        if isinstance(cause, requests.exceptions.SSLError | ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
    for cause in causes:
        if isinstance(cause, NewConnectionError | requests.ConnectionError):
            text = str(cause)
            if "refused" in text.lower():
                return "connection refused"
            # urllib3 messages end with the useful part after the last colon
            return f"connection failed: {one_line(text.rsplit(':', 1)[-1], 80)}"
    return "connection failed"


def _http_reason(exc: sushy_exc.HTTPError) -> str:
    code = exc.status_code or 0
    detail = exc.detail
    if not detail and isinstance(exc.body, dict):
        detail = exc.body.get("message")
    if not detail:
        try:
            detail = HTTPStatus(code).phrase
        except ValueError:
            detail = "error"
    return f"HTTP {code}: {one_line(str(detail))}"


def to_driver_error(exc: BaseException, bmc_url: str, options: DriverOptions) -> DriverError:
    """The driver error that tells an operator what went wrong with ``exc``."""
    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, sushy_exc.AccessError):
        code = exc.status_code or HTTPStatus.UNAUTHORIZED
        verb = "access denied" if code == HTTPStatus.FORBIDDEN else "credentials rejected"
        return BmcAuthFailed(bmc_url, f"{verb} (HTTP {code})")
    if isinstance(exc, sushy_exc.MissingXAuthToken):
        return BmcAuthFailed(bmc_url, "session refused: no X-Auth-Token in the answer")
    if isinstance(exc, sushy_exc.HTTPError):
        return BmcProtocolError(bmc_url, _http_reason(exc))
    # before the RequestException test: requests' JSONDecodeError is one of those too
    if isinstance(exc, requests.exceptions.InvalidJSONError | json.JSONDecodeError):
        return BmcProtocolError(bmc_url, "answer is not valid JSON")
    if isinstance(exc, sushy_exc.ConnectionError | requests.RequestException | OSError):
        return BmcUnreachable(bmc_url, _unreachable_reason(exc, options))
    if isinstance(exc, sushy_exc.MissingActionError):
        return BmcProtocolError(bmc_url, "the system offers no ComputerSystem.Reset action")
    if isinstance(exc, sushy_exc.MissingAttributeError | sushy_exc.MalformedAttributeError):
        return BmcProtocolError(bmc_url, f"malformed answer: {one_line(str(exc))}")
    if isinstance(exc, MalformedAnswer):
        return BmcProtocolError(bmc_url, f"malformed answer: {one_line(str(exc))}")
    if isinstance(exc, sushy_exc.SushyError):
        return BmcProtocolError(bmc_url, one_line(str(exc)))
    return BmcProtocolError(bmc_url, f"unexpected {type(exc).__name__}: {one_line(str(exc))}")
