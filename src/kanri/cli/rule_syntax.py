"""The ``--action`` syntax of ``kanri rule add``, turned into the API's action data.

``KIND``, ``KIND:KEY=VALUE[;KEY=VALUE...]`` or ``KIND:{JSON parameters}``::

    reboot
    power_off:graceful=true
    email:to=ops@example.com,oncall@example.com;subject=kanri fault
    webhook:url=https://hooks.example.com/kanri;secret=s3cret;timeout=10
    syslog:address=loghost:514;protocol=tcp;facility=local3
    command:argv=/usr/local/bin/page --severity high;timeout=30

``to`` is split at commas, ``argv`` like a shell would, ``timeout`` is a number,
``graceful`` true or false; every other value is a string. The manager checks the rest.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from kanri.cli.errors import CliError, ExitCode


def _number(value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        return float(value)


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def _addresses(value: str) -> list[str]:
    return [a.strip() for a in value.split(",") if a.strip()]


_TYPED: dict[str, Callable[[str], Any]] = {
    "to": _addresses,
    "argv": shlex.split,
    "timeout": _number,
    "graceful": _boolean,
}


def parse_action(text: str) -> dict[str, Any]:
    """One ``--action`` value as ``{KIND: {parameters}}``, or a usage error naming it."""
    kind, colon, rest = text.partition(":")
    kind = kind.strip()
    if not kind:
        raise CliError(f"--action {text!r}: start with the action's kind", ExitCode.USAGE)
    if not colon:
        return {kind: {}}
    if rest.lstrip().startswith("{"):
        try:
            params = json.loads(rest)
        except ValueError as exc:
            raise CliError(f"--action {text!r}: bad JSON: {exc}", ExitCode.USAGE) from None
        if not isinstance(params, dict):
            raise CliError(f"--action {text!r}: the JSON must be an object", ExitCode.USAGE)
        return {kind: params}
    params = {}
    for pair in filter(None, (p.strip() for p in rest.split(";"))):
        key, equals, value = pair.partition("=")
        if not equals or not key.strip():
            raise CliError(
                f"--action {text!r}: {pair!r} is not KEY=VALUE (pairs are separated by ';')",
                ExitCode.USAGE,
            )
        key = key.strip()
        try:
            params[key] = _TYPED.get(key, str)(value.strip())
        except ValueError as exc:
            raise CliError(f"--action {text!r}: {key}: {exc}", ExitCode.USAGE) from None
    return {kind: params}
