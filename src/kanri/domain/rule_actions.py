"""The built-in action kinds and the parameters each takes, checked where a rule comes in.

Other kinds (failover) come from the ``kanri.actions`` entry point group: they are known
by name and their parameters are theirs to check when they run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from kanri.domain.errors import Invalid

BUILTIN_ACTION_KINDS = ("email", "webhook", "syslog", "reboot", "power_off", "command")

SYSLOG_FACILITIES = frozenset(
    {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron"}
    | {"authpriv", "ftp"}
    | {f"local{i}" for i in range(8)}
)

# Each built-in kind: its keys, and which of them it cannot do without.
_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "email": (frozenset({"to", "subject"}), frozenset({"to"})),
    "webhook": (frozenset({"url", "secret", "timeout"}), frozenset({"url"})),
    "syslog": (frozenset({"address", "protocol", "facility"}), frozenset()),
    "reboot": (frozenset(), frozenset()),
    "power_off": (frozenset({"graceful"}), frozenset()),
    "command": (frozenset({"argv", "timeout"}), frozenset({"argv"})),
}

_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d+)$")


def check_action(kind: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """The parameters of a built-in ``kind``, checked and normalised (an e-mail ``to``
    given as one string becomes a list); ``where`` starts every error message."""
    if kind not in _KEYS:
        return params  # an entry-point kind checks its own parameters when it runs
    allowed, required = _KEYS[kind]
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) if allowed else "no parameters"
        raise Invalid(f"{where}: unknown key {unknown[0]!r} for {kind} (it takes {takes})")
    missing = sorted(required - set(params))
    if missing:
        raise Invalid(f"{where}: {kind} needs {missing[0]!r}")
    out = dict(params)
    _CHECKS[kind](out, f"{where}: {kind}")
    return out


def _email(params: dict[str, Any], where: str) -> None:
    params["to"] = _addresses(params["to"], f"{where} 'to'")
    if "subject" in params:
        _text(params["subject"], f"{where} 'subject'")


def _webhook(params: dict[str, Any], where: str) -> None:
    _http_url(params["url"], f"{where} 'url'")
    if "secret" in params:
        _text(params["secret"], f"{where} 'secret'")
    if "timeout" in params:
        _seconds(params["timeout"], 1, 300, f"{where} 'timeout'")


def _power_off(params: dict[str, Any], where: str) -> None:
    if "graceful" in params and not isinstance(params["graceful"], bool):
        raise Invalid(f"{where} 'graceful' must be true or false")


def _command(params: dict[str, Any], where: str) -> None:
    argv = params["argv"]
    if (
        not isinstance(argv, list)
        or not argv
        or not all(isinstance(a, str) for a in argv)
        or not argv[0]
    ):
        raise Invalid(f"{where} 'argv' must be a non-empty list of strings")
    if "timeout" in params:
        _seconds(params["timeout"], 1, 3600, f"{where} 'timeout'")


def _nothing(params: dict[str, Any], where: str) -> None:
    pass


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"{what} must be a non-empty string")
    return value


def _addresses(value: object, what: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid(f"{what} must be an address or a non-empty list of addresses")
    for item in items:
        if not isinstance(item, str):
            raise Invalid(f"{what}: {item!r} is not an address")
        _name, address = parseaddr(item)
        local, _, domain = address.rpartition("@")
        if not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
            raise Invalid(f"{what}: {item!r} is not an e-mail address")
    return list(items)


def _http_url(value: object, what: str) -> str:
    url = _text(value, what)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise Invalid(f"{what} must be an http:// or https:// URL with a host, not {url!r}")
    return url


def _seconds(value: object, low: int, high: int, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise Invalid(f"{what} must be a number of seconds from {low} to {high}")
    return float(value)


def _syslog(params: dict[str, Any], what: str) -> None:
    if "address" in params:
        address = _text(params["address"], f"{what} 'address'")
        found = _HOST_PORT.match(address)
        if found is None or not 1 <= int(found["port"]) <= 65535:
            raise Invalid(f"{what} 'address' must be host:port (port 1-65535), not {address!r}")
    if "protocol" in params and params["protocol"] not in ("udp", "tcp"):
        raise Invalid(f"{what} 'protocol' must be udp or tcp")
    if "facility" in params and params["facility"] not in SYSLOG_FACILITIES:
        raise Invalid(f"{what} 'facility' must be one of {', '.join(sorted(SYSLOG_FACILITIES))}")


_CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "email": _email,
    "webhook": _webhook,
    "syslog": _syslog,
    "reboot": _nothing,
    "power_off": _power_off,
    "command": _command,
}
