"""/api/v1/layouts: partition layouts in the configuration database, versioned; import,
export, diff, and apply to another machine as a job (docs/partitions.md "Layouts")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from kanri.api.deps import CallerDep, ManagerDep
from kanri.api.routes.jobs import JobOut
from kanri.domain.errors import Invalid
from kanri.domain.naming import NAME_PATTERN
from kanri.engine.layouts import MAX_DOCUMENT, LayoutSummary, LayoutVersion, to_yaml

router = APIRouter(prefix="/api/v1/layouts", tags=["layouts"])


class LayoutOut(BaseModel):
    name: str
    version: int
    host: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, s: LayoutSummary) -> LayoutOut:
        return cls(name=s.name, version=s.version, host=s.host, updated_at=s.updated_at)


class VersionOut(BaseModel):
    name: str
    version: int
    host: str | None
    reason: str
    created_by: str
    created_at: datetime
    document: dict[str, Any] | None = None
    yaml: str | None = None

    @classmethod
    def of(cls, v: LayoutVersion, document: bool = True) -> VersionOut:
        return cls(
            name=v.name,
            version=v.version,
            host=v.host,
            reason=v.reason,
            created_by=v.created_by,
            created_at=v.created_at,
            document=v.document if document else None,
        )


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(json_schema_extra={"pattern": NAME_PATTERN})
    yaml: str = Field(max_length=MAX_DOCUMENT)
    source: str = Field("layout.yaml", max_length=255)


class DiffOut(BaseModel):
    name: str
    against: str  # "version N" or "live MACHINE"
    base: str
    changes: list[str]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    restore_states: bool = False
    version: int | None = Field(None, ge=1)


@router.get("")
def list_layouts(manager: ManagerDep, _: CallerDep) -> list[LayoutOut]:
    return [LayoutOut.of(s) for s in manager.layouts.layouts()]


@router.post("/import", status_code=status.HTTP_201_CREATED)
def import_layout(body: ImportIn, manager: ManagerDep, caller: CallerDep) -> VersionOut:
    """Read the YAML strictly and keep it as the newest version of ``name`` (not applied);
    the same document as the newest version adds none."""
    return VersionOut.of(manager.layouts.import_(body.yaml, body.source, body.name, caller))


@router.get("/{name}")
def show_layout(
    name: str,
    manager: ManagerDep,
    _: CallerDep,
    version: int | None = Query(None, ge=1),
) -> VersionOut:
    """A stored layout (the newest version, or ``version``), or the live layout of the
    machine ``name`` when no layout has that name; with its YAML."""
    stored, document = manager.layouts.document(name, version)
    if stored is None:
        return VersionOut(
            name=name,
            version=0,
            host=name,
            reason="live",
            created_by="",
            created_at=datetime.now(UTC),
            document=document,
            yaml=to_yaml(document),
        )
    out = VersionOut.of(stored)
    out.yaml = to_yaml(document)
    return out


@router.get("/{name}/history")
def layout_history(name: str, manager: ManagerDep, _: CallerDep) -> list[VersionOut]:
    return [VersionOut.of(v, document=False) for v in manager.layouts.history(name)]


@router.get("/{name}/diff")
def diff_layout(
    name: str,
    manager: ManagerDep,
    _: CallerDep,
    from_: int | None = Query(None, alias="from", ge=1),
    to: int | None = Query(None, ge=1),
    live: bool = False,
) -> DiffOut:
    """Two versions (``from`` and ``to``), or a version (``from``, default the newest)
    against its machine as it is now (``live=true``)."""
    if live:
        if to is not None:
            raise Invalid("diff: give 'to' or 'live', not both")
        stored = manager.layouts.get(name, from_)
        changes = manager.layouts.diff_live(name, stored.version)
        return DiffOut(
            name=name,
            base=f"version {stored.version}",
            against=f"live {stored.host}",
            changes=changes,
        )
    if from_ is None or to is None:
        raise Invalid("diff: give both 'from' and 'to' versions, or 'live=true'")
    return DiffOut(
        name=name,
        base=f"version {from_}",
        against=f"version {to}",
        changes=manager.layouts.diff(name, from_, to),
    )


@router.post("/{name}/apply", status_code=status.HTTP_202_ACCEPTED)
def apply_layout(name: str, body: ApplyIn, manager: ManagerDep, caller: CallerDep) -> JobOut:
    """Submit a ``layout.apply`` job: refused (409, nothing changed) for a machine not in
    hypervisor mode or one the layout does not fit (the shortfall); 404 for unknown names."""
    job = manager.layouts.apply(name, body.to, body.restore_states, caller, body.version)
    return JobOut.of(job, steps=True)
