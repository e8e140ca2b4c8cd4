"""Groups: named, flat sets of machines, usable wherever a target is."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kanri.domain.naming import check_name


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    members: tuple[str, ...]  # machine names, sorted


def check_members(names: Iterable[str]) -> tuple[str, ...]:
    """Machine names, each checked, without duplicates, sorted."""
    return tuple(sorted({check_name(n) for n in names}))


def expand(targets: Iterable[str], groups: dict[str, Group]) -> list[str]:
    """Targets to machine names: a group gives its members, anything else is a machine.
    Order kept, duplicates dropped."""
    out: dict[str, None] = {}
    for target in targets:
        group = groups.get(target)
        for name in group.members if group is not None else (target,):
            out.setdefault(name, None)
    return list(out)
