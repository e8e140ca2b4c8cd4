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
from typing import Any

import requests
import sushy.exceptions as sushy_exc
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

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


class SentButUnanswered(requests.RequestException):
    """A command reached the BMC (or may have) and no answer came back: never resent."""


def attempts(options: DriverOptions) -> int:
    """Connection attempts per request: sushy's Connector makes ``retries`` of them (and
    reads 0 as 3, so the pool never passes 0)."""
    return max(1, options.retries)


def timed_out(exc: BaseException) -> bool:
    """True when ``exc`` is (or was caused by) a connect or read timeout.

    A BMC that did not answer in time is slow or hung, not restarted: logging in again
    would only wait out the same timeouts once more.
    """
    return any(
        # urllib3's NewConnectionError (refused, DNS) is a ConnectTimeoutError by descent
        isinstance(c, requests.Timeout | TimeoutError | Urllib3Timeout)
        and not isinstance(c, NewConnectionError)
        for c in _causes(exc)
    )


def _waited(options: DriverOptions, seconds: float, one: str, several: str) -> str:
    """An honest timeout reason: how long each attempt waited, and how many were made."""
    tries = attempts(options)
    return (one if tries == 1 else several).format(s=f"{seconds:g}", n=tries)


def nothing_was_sent(exc: BaseException) -> bool:
    """True when the request never reached the BMC, so repeating it cannot act twice."""
    return any(
        isinstance(c, requests.ConnectTimeout | NewConnectionError | ConnectionRefusedError)
        for c in _causes(exc)
    )


def _refused_or_other(cause: BaseException) -> str:
    text = str(cause)
    if "refused" in text.lower():
        return "connection refused"
    # urllib3 messages end with the useful part after the last colon
    return f"connection failed: {one_line(text.rsplit(':', 1)[-1], 80)}"


def _unreachable_reason(exc: BaseException, options: DriverOptions) -> str:
    # Most specific first: a ConnectTimeout is also a ConnectionError, and a DNS failure
    # arrives wrapped in a NewConnectionError.
    reasons: list[tuple[type[BaseException] | tuple[type[BaseException], ...], Any]] = [
        (
            SentButUnanswered,
            lambda c: (
                (
                    f"no answer to the command within {options.read_timeout:g}s"
                    if timed_out(c)
                    else "connection lost after the command was sent"
                )
                + "; not repeated, as the BMC may have acted on it"
            ),
        ),
        (NameResolutionError, lambda c: "DNS failure: cannot resolve the host name"),
        (
            requests.ConnectTimeout,
            lambda c: _waited(
                options,
                options.connect_timeout,
                "timed out after {s}s connecting",
                "could not connect in {n} attempts of {s}s",
            ),
        ),
        (
            requests.ReadTimeout,
            lambda c: _waited(
                options,
                options.read_timeout,
                "timed out after {s}s waiting for an answer",
                "no answer in {n} attempts of {s}s",
            ),
        ),
        (
            ssl.SSLCertVerificationError,
            lambda c: f"TLS certificate rejected: {one_line(c.verify_message or 'untrusted')}",
        ),
        ((requests.exceptions.SSLError, ssl.SSLError), lambda c: "TLS handshake failed"),
        (ConnectionRefusedError, lambda c: "connection refused"),
        ((NewConnectionError, requests.ConnectionError), _refused_or_other),
    ]
    causes = list(_causes(exc))
    for kind, reason in reasons:
        for cause in causes:
            if isinstance(cause, kind):
                return str(reason(cause))
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


def _auth_reason(exc: sushy_exc.AccessError) -> str:
    code = exc.status_code or HTTPStatus.UNAUTHORIZED
    verb = "access denied" if code == HTTPStatus.FORBIDDEN else "credentials rejected"
    return f"{verb} (HTTP {code})"


def _malformed(exc: BaseException) -> str:
    return f"malformed answer: {one_line(str(exc))}"


def to_driver_error(exc: BaseException, bmc_url: str, options: DriverOptions) -> DriverError:
    """The driver error that tells an operator what went wrong with ``exc``."""
    if isinstance(exc, DriverError):
        return exc
    # Order matters: AccessError is an HTTPError, and requests' JSONDecodeError is a
    # RequestException (which would read as "unreachable").
    table: list[tuple[Any, type[DriverError], Any]] = [
        (sushy_exc.AccessError, BmcAuthFailed, _auth_reason),
        (
            sushy_exc.MissingXAuthToken,
            BmcAuthFailed,
            lambda e: "session refused: no X-Auth-Token in the answer",
        ),
        (sushy_exc.HTTPError, BmcProtocolError, _http_reason),
        (
            (requests.exceptions.InvalidJSONError, json.JSONDecodeError),
            BmcProtocolError,
            lambda e: "answer is not valid JSON",
        ),
        (
            (sushy_exc.ConnectionError, requests.RequestException, OSError),
            BmcUnreachable,
            lambda e: _unreachable_reason(e, options),
        ),
        (
            sushy_exc.MissingActionError,
            BmcProtocolError,
            lambda e: "the system offers no ComputerSystem.Reset action",
        ),
        (
            (sushy_exc.MissingAttributeError, sushy_exc.MalformedAttributeError, MalformedAnswer),
            BmcProtocolError,
            _malformed,
        ),
        (sushy_exc.SushyError, BmcProtocolError, lambda e: one_line(str(e))),
    ]
    for kind, error, reason in table:
        if isinstance(exc, kind):
            return error(bmc_url, str(reason(exc)))
    return BmcProtocolError(bmc_url, f"unexpected {type(exc).__name__}: {one_line(str(exc))}")
