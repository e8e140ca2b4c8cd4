"""/api/v1/rules: which events run which actions (docs/rules.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.domain.naming import NAME_PATTERN
from kanri.domain.rules import Rule
from kanri.engine.rules import RuleService

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class RuleIn(BaseModel):
    """One rule, as in a rules file (docs/rules.md); checked by the manager, which names
    the key that is wrong."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN})
    match: dict[str, Any] | None = Field(
        default=None, description="severity, kind, component, target, group"
    )
    on: list[str] | None = Field(default=None, description="new, escalated, grew, cleared")
    actions: list[Any] = Field(
        max_length=100, description='"reboot", {"email": {...}} or {"kind", "params"}'
    )
    rate: str | dict[str, Any] | None = Field(default=None, description="COUNT/DURATION: 5/1h")
    quiet: int | str | None = Field(default=None, description="seconds, or 10m, 2h, 1d")
    enabled: bool = True


class ActionOut(BaseModel):
    kind: str
    params: dict[str, Any]


class RuleOut(BaseModel):
    name: str
    position: int
    enabled: bool
    origin: str
    match: dict[str, Any]
    on: list[str]
    actions: list[ActionOut]
    rate: str | None
    quiet: int

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls.model_validate(RuleService.data(rule))


class EnabledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class LoadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(description="the rules file's text")
    source: str = Field(min_length=1, max_length=255, description="the file's name")


class LoadOut(BaseModel):
    source: str
    rules: list[RuleOut]


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: int
    change: str = Field(default="new", description="new, escalated, grew or cleared")


class Verdict(BaseModel):
    rule: str
    fires: bool
    trigger: str
    reason: str
    actions: list[ActionOut]


@router.get("")
def list_rules(manager: ManagerDep, _: CallerDep) -> list[RuleOut]:
    """In the order they are tried."""
    return [RuleOut.of(r) for r in manager.rules.rules()]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_rule(body: RuleIn, manager: ManagerDep, _: CallerDep) -> RuleOut:
    """Added after every other rule. A target or group that does not exist, an unknown
    kind or action: refused, nothing stored."""
    return RuleOut.of(manager.rules.add(body.model_dump(exclude_none=True)))


@router.post("/load")
def load_rules(body: LoadIn, manager: ManagerDep, _: CallerDep) -> LoadOut:
    """Replace the rules loaded from ``source`` with those in ``yaml``: all or none."""
    return LoadOut(
        source=body.source,
        rules=[RuleOut.of(r) for r in manager.rules.load(body.yaml, body.source)],
    )


@router.post("/test")
def replay_rules(body: TestIn, manager: ManagerDep, _: CallerDep) -> list[Verdict]:
    """What every rule would do for a stored event, and why: acts on nothing."""
    return [Verdict.model_validate(v) for v in manager.rules.test(body.event_id, body.change)]


@router.get("/{name}")
def show_rule(name: str, manager: ManagerDep, _: CallerDep) -> RuleOut:
    return RuleOut.of(manager.rules.get(name))


@router.patch("/{name}")
def change_rule(name: str, body: EnabledIn, manager: ManagerDep, _: CallerDep) -> RuleOut:
    """Enable or disable a rule."""
    return RuleOut.of(manager.rules.set_enabled(name, body.enabled))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_rule(name: str, manager: ManagerDep, _: CallerDep) -> Response:
    manager.rules.remove(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
