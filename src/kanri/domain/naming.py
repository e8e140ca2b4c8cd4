"""How machines found behind one BMC get their names.

Rule: a BMC that manages exactly one system gives that system the name the operator
chose. A BMC that manages several (a chassis manager with blades) gives each
``<name>-<system id>``, the id lower-cased with every run of other characters than
letters and digits turned into one ``-``. Any machine can be renamed afterwards.
"""

from __future__ import annotations

import re

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
