"""Layouts in the configuration database (the paper's ⑤): named, versioned documents
(``domain.layout_doc.to_document``), a new version only when the document differs from the
newest; and the rows a host's live layout is built from (its partitions, the servers
placed on them). Returns plain values, never rows. docs/partitions.md "Layouts".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kanri.domain.errors import Conflict, NotFound
from kanri.domain.naming import check_name
from kanri.store.db import Database
from kanri.store.tables import LayoutRow, LayoutVersionRow, MachineRow, PartitionRow, ServerRow

_TRIES = 3  # two writers adding a version at once: the loser reads the newest and tries again


@dataclass(frozen=True, slots=True)
class LayoutVersion:
    name: str
    version: int
    document: dict[str, Any]
    reason: str
    created_by: str
    created_at: datetime
    host: str | None  # the machine the layout describes now (None: imported, not applied)


@dataclass(frozen=True, slots=True)
class LayoutSummary:
    name: str
    version: int
    host: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class LivePartition:
    """A partition of a host as kanri keeps it: its machine name, the spec it was made
    with (JSON, as the partitions service stores it) and its run state."""

    name: str
    spec: dict[str, Any]
    run_state: str


@dataclass(frozen=True, slots=True)
class LiveServer:
    name: str
    partition: str  # the partition's machine name
    identity: dict[str, Any]


class LayoutRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # versions ---------------------------------------------------------------------------

    def save(
        self,
        name: str,
        document: dict[str, Any],
        reason: str,
        by: str,
        host: str | None = None,
    ) -> tuple[LayoutVersion, bool]:
        """Store ``document`` as the newest version of layout ``name`` (made if new) when
        it differs from the newest; (that version, whether it was added). ``host`` (a
        machine name) becomes the machine the layout describes."""
        check_name(name)
        for attempt in range(_TRIES):
            try:
                with self.db.session() as session:
                    return self._save(session, name, document, reason, by, host)
            except IntegrityError:
                if attempt == _TRIES - 1:
                    raise Conflict(
                        f"layout {name}: another writer kept adding versions; try again"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(
        self,
        session: Session,
        name: str,
        document: dict[str, Any],
        reason: str,
        by: str,
        host: str | None,
    ) -> tuple[LayoutVersion, bool]:
        row = session.scalars(
            select(LayoutRow).where(LayoutRow.name == name).with_for_update()
        ).one_or_none()
        if row is None:
            row = LayoutRow(name=name, version=0)
            session.add(row)
            session.flush()
        if host is not None:
            row.host_machine_id = _machine_id(session, host)
        newest = self._version_row(session, row, row.version) if row.version else None
        if newest is not None and newest.document == document:
            session.flush()
            return self._value(session, row, newest), False
        added = LayoutVersionRow(
            layout_id=row.id,
            version=row.version + 1,
            document=document,
            reason=reason,
            created_by=by,
        )
        session.add(added)
        row.version = added.version
        session.flush()
        return self._value(session, row, added), True

    def get(self, name: str, version: int | None = None) -> LayoutVersion:
        """The newest version of ``name``, or version ``version``; NotFound names what there is."""
        with self.db.session() as session:
            row = self._layout(session, name)
            if not row.version:
                raise NotFound(f"layout {name} has no version yet")
            wanted = row.version if version is None else version
            found = self._version_row(session, row, wanted)
            if found is None:
                raise NotFound(f"layout {name} has no version {wanted} (versions 1-{row.version})")
            return self._value(session, row, found)

    def history(self, name: str) -> list[LayoutVersion]:
        """Every version of ``name``, oldest first."""
        with self.db.session() as session:
            row = self._layout(session, name)
            rows = session.scalars(
                select(LayoutVersionRow)
                .where(LayoutVersionRow.layout_id == row.id)
                .order_by(LayoutVersionRow.version)
            ).all()
            return [self._value(session, row, v) for v in rows]

    def layouts(self) -> list[LayoutSummary]:
        with self.db.session() as session:
            rows = session.scalars(select(LayoutRow).order_by(LayoutRow.name)).all()
            summaries = []
            for row in rows:
                newest = self._version_row(session, row, row.version) if row.version else None
                summaries.append(
                    LayoutSummary(
                        row.name,
                        row.version,
                        _machine_name(session, row.host_machine_id),
                        newest.created_at if newest else None,
                    )
                )
            return summaries

    def exists(self, name: str) -> bool:
        with self.db.session() as session:
            found = session.scalars(select(LayoutRow.id).where(LayoutRow.name == name))
            return found.one_or_none() is not None

    def name_for_host(self, host: str) -> str | None:
        """The layout that describes machine ``host`` now, if any."""
        with self.db.session() as session:
            machine_id = _machine_id(session, host)
            return session.scalars(
                select(LayoutRow.name)
                .where(LayoutRow.host_machine_id == machine_id)
                .order_by(LayoutRow.id)
                .limit(1)
            ).one_or_none()

    @staticmethod
    def _layout(session: Session, name: str) -> LayoutRow:
        row = session.scalars(select(LayoutRow).where(LayoutRow.name == name)).one_or_none()
        if row is None:
            raise NotFound(f"no layout named {name!r}")
        return row

    @staticmethod
    def _version_row(session: Session, row: LayoutRow, version: int) -> LayoutVersionRow | None:
        return session.scalars(
            select(LayoutVersionRow).where(
                LayoutVersionRow.layout_id == row.id, LayoutVersionRow.version == version
            )
        ).one_or_none()

    @staticmethod
    def _value(session: Session, row: LayoutRow, v: LayoutVersionRow) -> LayoutVersion:
        return LayoutVersion(
            name=row.name,
            version=v.version,
            document=v.document,
            reason=v.reason,
            created_by=v.created_by,
            created_at=v.created_at,
            host=_machine_name(session, row.host_machine_id),
        )

    # the live rows ----------------------------------------------------------------------

    def live(self, host: str) -> tuple[list[LivePartition], list[LiveServer]]:
        """The partitions kanri keeps for machine ``host`` (by name) and the servers placed
        on them; NotFound when there is no such machine."""
        part = aliased(MachineRow)
        with self.db.session() as session:
            host_id = _machine_id(session, host)
            rows = session.execute(
                select(part.name, PartitionRow.spec, PartitionRow.run_state)
                .join(part, part.id == PartitionRow.machine_id)
                .where(PartitionRow.host_machine_id == host_id)
                .order_by(part.name)
            ).all()
            servers = session.execute(
                select(ServerRow.name, part.name, ServerRow.identity)
                .join(part, part.id == ServerRow.machine_id)
                .join(PartitionRow, PartitionRow.machine_id == part.id)
                .where(PartitionRow.host_machine_id == host_id)
                .order_by(ServerRow.name)
            ).all()
        return (
            [LivePartition(name, dict(spec or {}), state) for name, spec, state in rows],
            [LiveServer(name, on, dict(identity or {})) for name, on, identity in servers],
        )


def _machine_id(session: Session, name: str) -> int:
    found = session.scalars(select(MachineRow.id).where(MachineRow.name == name)).one_or_none()
    if found is None:
        raise NotFound(f"no machine named {name!r}")
    return found


def _machine_name(session: Session, machine_id: int | None) -> str | None:
    if machine_id is None:
        return None
    return session.scalars(select(MachineRow.name).where(MachineRow.id == machine_id)).one_or_none()
