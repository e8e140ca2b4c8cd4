"""How machines found behind one BMC get their names, and how a BMC URL is spelled.

Rule: a BMC that manages exactly one system gives that system the name the operator
chose. A BMC that manages several (a chassis manager with blades) gives each
``<name>-<system id>``, the id lower-cased with every run of other characters than
letters and digits turned into one ``-``. Any machine can be renamed afterwards.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from kanri.domain.errors import Invalid

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
_NAME = re.compile(NAME_PATTERN)
_OTHER = re.compile(r"[^a-z0-9]+")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid machine name, else raise :class:`Invalid`."""
    if not _NAME.match(name):
        raise Invalid(
            f"invalid name {name!r}: use 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return name


def slug(system_id: str) -> str:
    return _OTHER.sub("-", system_id.lower()).strip("-") or "system"


def machine_names(base: str, system_ids: list[str]) -> dict[str, str]:
    """Map each system id found behind one BMC to its machine name."""
    check_name(base)
    if len(system_ids) == 1:
        return {system_ids[0]: base}
    names: dict[str, str] = {}
    taken: set[str] = set()
    for system_id in system_ids:
        candidate = f"{base}-{slug(system_id)}"[:63].rstrip("-")
        unique, n = candidate, 2
        while unique in taken:  # two ids that slug alike ("Blade 1", "blade-1")
            unique = f"{candidate[:59]}-{n}"
            n += 1
        taken.add(unique)
        names[system_id] = check_name(unique)
    return names


def normalize_bmc_url(url: str) -> str:
    """One spelling per BMC, so one BMC is never registered twice under two spellings.

    Lower-cases the scheme and host, drops a default port and trailing slashes; keeps the
    path and query (a driver may need them).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return url.strip()  # the driver refuses it with a clear message
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


_DEFAULT_PORTS = {"http": 80, "https": 443}
