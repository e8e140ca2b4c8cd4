"""Groups in the manager: named sets of machines, usable wherever a target is."""

from __future__ import annotations

import logging

from kanri.domain.errors import NotFound
from kanri.domain.groups import Group, expand
from kanri.store.repo import Repository
from kanri.store.schedules_repo import SchedulesRepository

log = logging.getLogger(__name__)


class GroupService:
    def __init__(self, store: SchedulesRepository, repo: Repository) -> None:
        self.store = store
        self.repo = repo

    def add(self, name: str, members: list[str]) -> Group:
        """Every member must be a registered machine: nothing is stored otherwise."""
        group = self.store.add_group(name, members)
        self.repo.add_event(
            "group.added", "info", None, f"added group {name}", {"members": list(group.members)}
        )
        return group

    def groups(self) -> list[Group]:
        return self.store.groups()

    def get(self, name: str) -> Group:
        return self.store.get_group(name)

    def change(self, name: str, add: list[str], remove: list[str]) -> Group:
        group = self.store.change_members(name, add, remove)
        self.repo.add_event(
            "group.changed",
            "info",
            None,
            f"changed group {name}",
            {"added": add, "removed": remove, "members": list(group.members)},
        )
        return group

    def remove(self, name: str) -> None:
        """Refused while a schedule uses the group."""
        self.store.remove_group(name)
        self.repo.add_event("group.removed", "info", None, f"removed group {name}")

    def expand(self, names: list[str]) -> list[str]:
        """Targets to machine names: a machine is itself, a group its members (a group
        may be empty). Order kept, duplicates dropped; an unknown name is NotFound."""
        machines = self.store.machine_names()
        groups = {g.name: g for g in self.store.groups()}
        unknown = [n for n in names if n not in machines and n not in groups]
        if unknown:
            raise NotFound(f"no machine or group named {', '.join(sorted(set(unknown)))}")
        # A machine's name wins over a group's (groups cannot take a machine's name, but a
        # machine may be renamed to one later).
        return expand(names, {k: v for k, v in groups.items() if k not in machines})
