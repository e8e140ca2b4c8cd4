"""Run states kept in the store: each partition's (PartitionRow.run_state/_cause/_by/_at)
and the snapshots frozen when a host is lost (RunStateSnapshotRow). Returns domain values.

Each change is one transaction that reads the row it changes with a lock (``FOR UPDATE``
on PostgreSQL; SQLite serialises writers), so two managers recording at once never lose
one of the two. A snapshot is claimed for a restore by one conditional UPDATE: of two
managers that try, exactly one wins.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kanri.domain.errors import NotFound
from kanri.domain.runstate import Cause, RunState, Snapshot, Tracked, freeze, record
from kanri.store.db import Database
from kanri.store.tables import MachineRow, PartitionRow, RunStateSnapshotRow, utcnow


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A snapshot as kept: which host, the event that lost it, whether it was restored."""

    id: int
    host: str
    event_id: int | None
    snapshot: Snapshot
    restored_at: datetime | None = None
    # partition -> the name in its spec (a layout's name for it), where kanri knows it
    spec_names: Mapping[str, str] | None = None


def _tracked(row: PartitionRow) -> Tracked:
    return Tracked(
        RunState(row.run_state),
        Cause(row.run_state_cause) if row.run_state_cause else None,
        row.run_state_by or None,
        row.run_state_at if row.run_state_cause else None,
    )


def _record_on(row: PartitionRow, cause: Cause, by: str, at: datetime) -> tuple[Tracked, Tracked]:
    """Record ``cause`` on the partition ``row``: (before, after); the row changes only
    when the run state does."""
    before = _tracked(row)
    after = record(before, cause, by[:63], at)
    if after is not before:
        row.run_state = after.state.value
        row.run_state_cause = after.cause.value if after.cause else ""
        row.run_state_by = after.by or ""
        row.run_state_at = at
    return before, after


def _tracked_json(t: Tracked, spec_name: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": t.state.value,
        "cause": t.cause.value if t.cause else None,
        "by": t.by,
        "at": t.at.isoformat() if t.at else None,
    }
    if spec_name:
        out["spec"] = spec_name
    return out


def _from_json(raw: Mapping[str, Any]) -> Tracked:
    at = raw.get("at")
    cause = raw.get("cause")
    return Tracked(
        RunState(raw["state"]),
        Cause(cause) if cause else None,
        raw.get("by"),
        datetime.fromisoformat(at) if at else None,
    )


def _stored(row: RunStateSnapshotRow) -> StoredSnapshot:
    states = {name: _from_json(raw) for name, raw in sorted((row.states or {}).items())}
    spec_names = {n: str(raw["spec"]) for n, raw in (row.states or {}).items() if raw.get("spec")}
    return StoredSnapshot(
        row.id,
        row.host_name,
        row.event_id,
        Snapshot(row.at, Cause(row.cause), states),
        row.restored_at,
        spec_names,
    )


class RunStatesRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # partitions ---------------------------------------------------------------------

    @staticmethod
    def _machine_id(session: Session, name: str) -> int:
        found = session.scalar(select(MachineRow.id).where(MachineRow.name == name))
        if found is None:
            raise NotFound(f"no machine or partition named {name!r}")
        return found

    @staticmethod
    def _partition_rows(
        session: Session, host_id: int, *, lock: bool = False
    ) -> list[tuple[str, PartitionRow]]:
        """(name, row) of each partition kanri keeps on the host, by name; ``lock``: the
        rows read ``FOR UPDATE``."""
        part = aliased(MachineRow)
        query = (
            select(part.name, PartitionRow)
            .join(part, part.id == PartitionRow.machine_id)
            .where(PartitionRow.host_machine_id == host_id)
            .order_by(part.name)
        )
        if lock:
            query = query.with_for_update(of=PartitionRow)
        return [(name, row) for name, row in session.execute(query).all()]

    @classmethod
    def _new_row(
        cls, session: Session, machine_id: int, host: str, initial: RunState, at: datetime
    ) -> PartitionRow:
        """The row of a partition found on a BMC (not made by kanri): an empty spec, in
        run state ``initial``; added to the session."""
        row = PartitionRow(
            machine_id=machine_id,
            host_machine_id=cls._machine_id(session, host),
            spec={},
            run_state=initial.value,
            run_state_cause="",
            run_state_by="",
            run_state_at=at,
        )
        session.add(row)
        return row

    def states(self, host: str) -> dict[str, Tracked]:
        """The run state of each partition kanri keeps on ``host`` (NotFound: no host)."""
        with self.db.session() as session:
            rows = self._partition_rows(session, self._machine_id(session, host))
            return {name: _tracked(row) for name, row in rows}

    def tracked(self, partition: str) -> Tracked:
        """``partition``'s run state; a partition kanri keeps no row for is off."""
        with self.db.session() as session:
            machine_id = self._machine_id(session, partition)
            row = session.scalars(
                select(PartitionRow).where(PartitionRow.machine_id == machine_id)
            ).one_or_none()
            return Tracked() if row is None else _tracked(row)

    def record(
        self,
        partition: str,
        host: str,
        cause: Cause,
        by: str,
        at: datetime | None = None,
        initial: RunState = RunState.OFF,
    ) -> tuple[Tracked, Tracked]:
        """Record ``cause`` on ``partition`` of ``host``: (before, after). A partition found
        on a BMC rather than made by kanri gets its row here (an empty spec), in the state
        ``initial`` (running if it was found on)."""
        at = at or utcnow()
        with self.db.session() as session:
            machine_id = self._machine_id(session, partition)
            row = session.scalars(
                select(PartitionRow).where(PartitionRow.machine_id == machine_id).with_for_update()
            ).one_or_none()
            if row is None:
                row = self._new_row(session, machine_id, host, initial, at)
            return _record_on(row, cause, by, at)

    def ensure(self, partition: str, host: str, initial: RunState) -> None:
        """Give ``partition`` a row in state ``initial`` if it has none (found on a BMC)."""
        # Another manager giving it one at the same time: theirs stands.
        with contextlib.suppress(IntegrityError):
            self._ensure(partition, host, initial)

    def _ensure(self, partition: str, host: str, initial: RunState) -> None:
        with self.db.session() as session:
            machine_id = self._machine_id(session, partition)
            found = session.scalar(
                select(PartitionRow.id).where(PartitionRow.machine_id == machine_id)
            )
            if found is None:
                self._new_row(session, machine_id, host, initial, utcnow())

    # snapshots ----------------------------------------------------------------------

    def freeze(
        self, host: str, cause: Cause, event_id: int | None, by: str, at: datetime | None = None
    ) -> StoredSnapshot | None:
        """Freeze ``host``'s run states and record the loss on its partitions, in one
        transaction; None (nothing stored) when none of them was running."""
        at = at or utcnow()
        with self.db.session() as session:
            host_id = self._machine_id(session, host)
            rows = self._partition_rows(session, host_id, lock=True)
            states = {name: _tracked(row) for name, row in rows}
            if not any(t.state is RunState.RUNNING for t in states.values()):
                return None
            snapshot = freeze(states, at, cause)
            for _name, row in rows:
                _record_on(row, cause, by, at)
            specs = {name: str(row.spec.get("name") or "") for name, row in rows}
            stored = RunStateSnapshotRow(
                host_machine_id=host_id,
                host_name=host,
                event_id=event_id,
                cause=cause.value,
                states={n: _tracked_json(t, specs.get(n)) for n, t in snapshot.states.items()},
                at=at,
            )
            session.add(stored)
            session.flush()
            return _stored(stored)

    def snapshots(self, host: str | None = None, limit: int = 100) -> list[StoredSnapshot]:
        """Newest first."""
        with self.db.session() as session:
            query = select(RunStateSnapshotRow).order_by(RunStateSnapshotRow.id.desc())
            if host is not None:
                query = query.where(RunStateSnapshotRow.host_name == host)
            return [_stored(r) for r in session.scalars(query.limit(limit))]

    def snapshot(self, snapshot_id: int) -> StoredSnapshot:
        with self.db.session() as session:
            row = session.get(RunStateSnapshotRow, snapshot_id)
            if row is None:
                raise NotFound(f"no run-state snapshot {snapshot_id}")
            return _stored(row)

    def latest(self, host: str, *, unrestored: bool = False) -> StoredSnapshot | None:
        with self.db.session() as session:
            query = select(RunStateSnapshotRow).where(RunStateSnapshotRow.host_name == host)
            if unrestored:
                query = query.where(RunStateSnapshotRow.restored_at.is_(None))
            row = session.scalars(query.order_by(RunStateSnapshotRow.id.desc()).limit(1)).first()
            return None if row is None else _stored(row)

    def unrestored_hosts(self) -> list[str]:
        """The hosts with a snapshot not restored yet (few: one query per sweep)."""
        with self.db.session() as session:
            rows = session.scalars(
                select(RunStateSnapshotRow.host_name)
                .where(RunStateSnapshotRow.restored_at.is_(None))
                .distinct()
            )
            return sorted(rows)

    def claim(self, snapshot_id: int, at: datetime | None = None) -> bool:
        """Mark the snapshot restored, if nobody has: True for the one caller that did."""
        with self.db.session() as session:
            result = session.execute(
                update(RunStateSnapshotRow)
                .where(
                    RunStateSnapshotRow.id == snapshot_id,
                    RunStateSnapshotRow.restored_at.is_(None),
                )
                .values(restored_at=at or utcnow())
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def unclaim(self, snapshot_id: int) -> None:
        """Undo a claim whose restore could not be submitted."""
        with self.db.session() as session:
            session.execute(
                update(RunStateSnapshotRow)
                .where(RunStateSnapshotRow.id == snapshot_id)
                .values(restored_at=None)
            )

    def claim_older(self, host: str, newest_id: int, at: datetime | None = None) -> None:
        """Snapshots of ``host`` older than ``newest_id`` are settled by its restore."""
        with self.db.session() as session:
            session.execute(
                update(RunStateSnapshotRow)
                .where(
                    RunStateSnapshotRow.host_name == host,
                    RunStateSnapshotRow.id < newest_id,
                    RunStateSnapshotRow.restored_at.is_(None),
                )
                .values(restored_at=at or utcnow())
            )

    def spec_names(self, host: str) -> dict[str, str]:
        """partition -> its spec's name, for the partitions kanri keeps on ``host``."""
        with self.db.session() as session:
            rows = self._partition_rows(session, self._machine_id(session, host))
            return {name: str((row.spec or {}).get("name") or name) for name, row in rows}
