"""/api/v1/groups: named sets of machines, usable wherever a target is."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.groups import Group
from kanri.domain.naming import NAME_PATTERN

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN})
    members: list[str] = Field(default_factory=list, max_length=10000)


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=10000)
    remove: list[str] = Field(default_factory=list, max_length=10000)


class GroupOut(BaseModel):
    name: str
    members: list[str]

    @classmethod
    def of(cls, g: Group) -> GroupOut:
        return cls(name=g.name, members=list(g.members))


@router.post("", status_code=status.HTTP_201_CREATED)
def add_group(body: GroupIn, manager: ManagerDep, _: CallerDep) -> GroupOut:
    """Every member must be a registered machine; nothing is stored otherwise."""
    return GroupOut.of(manager.groups.add(body.name, body.members))


@router.get("")
def list_groups(manager: ManagerDep, _: CallerDep) -> list[GroupOut]:
    return [GroupOut.of(g) for g in manager.groups.groups()]


@router.get("/{name}")
def show_group(name: str, manager: ManagerDep, _: CallerDep) -> GroupOut:
    return GroupOut.of(manager.groups.get(name))


@router.patch("/{name}/members")
def change_members(name: str, body: MembersIn, manager: ManagerDep, _: CallerDep) -> GroupOut:
    """Add and remove members in one go; an unknown machine to add changes nothing."""
    return GroupOut.of(manager.groups.change(name, body.add, body.remove))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_group(name: str, manager: ManagerDep, _: CallerDep) -> Response:
    """Refused (409) while a schedule uses the group. Its machines are left alone."""
    manager.groups.remove(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
