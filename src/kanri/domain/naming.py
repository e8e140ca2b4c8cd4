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

    A Redfish BMC (http, https) is its scheme, host and port: the scheme and host are
    lower-cased, a default port dropped, and a ``/redfish/v1`` path (which operators often
    paste) too. Anything else in the URL (credentials, another path, a query) is refused,
    since the driver would ignore it and two spellings would name one BMC. Other schemes
    (the fake driver's ``fake://NAME?systems=N``, libvirt's ``qemu+ssh://root@kvm-1/system``)
    keep their user, path and query; a local libvirt one (``qemu:///system``,
    ``test:///abs/path/host.xml``) has no host.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"invalid BMC URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not (host or _is_local_libvirt(scheme)):
        raise Invalid(f"invalid BMC URL {url!r}: give scheme and host, e.g. https://10.0.0.5")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    if scheme not in _DEFAULT_PORTS:
        if parts.password is not None:
            raise Invalid(f"invalid BMC URL {url!r}: give the password separately, not in the URL")
        if not host:  # a local libvirt URI: scheme:///path
            return f"{scheme}://{path or '/'}" + (f"?{parts.query}" if parts.query else "")
        if parts.username:  # libvirt's ssh user (qemu+ssh://root@host/system)
            host = f"{parts.username}@{host}"
        return urlunsplit((scheme, host, path, parts.query, ""))
    if parts.username or parts.password:
        raise Invalid(f"invalid BMC URL {url!r}: give credentials separately, not in the URL")
    if path.lower() not in ("", "/redfish/v1") or parts.query or parts.fragment:
        raise Invalid(f"invalid BMC URL {url!r}: give the BMC's address only, e.g. https://{host}")
    return f"{scheme}://{host}"


_DEFAULT_PORTS = {"http": 80, "https": 443}

# libvirt drivers that run on the manager's own machine: their URIs name no host
# (qemu:///system, test:///path/host.xml); a transport other than the local socket
# (qemu+ssh://) needs one.
_LOCAL_LIBVIRT = {"qemu", "test", "lxc", "xen", "libxl", "bhyve", "vbox", "ch", "vz", "openvz"}


def _is_local_libvirt(scheme: str) -> bool:
    driver, _, transport = scheme.partition("+")
    return driver in _LOCAL_LIBVIRT and transport in ("", "unix")
